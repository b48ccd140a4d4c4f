import CoAPCore
import NIOCore
import Testing

@Suite("CoAP block option (RFC 7959 section 2.2)")
struct CoAPBlockOptionTests {
    static let vectors: [(UInt32, Bool, Int, [UInt8])] = [
        (0, false, 16, []),
        (0, true, 16, [0x08]),
        (1, false, 64, [0x12]),
        (15, true, 1024, [0xFE]),
        (16, false, 1024, [0x01, 0x06]),
        (4095, true, 512, [0xFF, 0xFD]),
        (4096, false, 32, [0x01, 0x00, 0x01]),
        ((1 << 20) - 1, true, 1024, [0xFF, 0xFF, 0xFE]),
    ]

    @Test("encodes NUM/M/SZX into the shortest uint", arguments: vectors)
    func encode(number: UInt32, more: Bool, size: Int, wire: [UInt8]) throws {
        let block = try CoAPBlockOption(number: number, more: more, size: size)
        #expect(block.option(.block2).bytesValue == wire)
        let decoded = try CoAPBlockOption(option: CoAPOption(number: .block1, bytes: wire))
        #expect(decoded == block)
        #expect(decoded.size == size)
        #expect(decoded.offset == Int(number) * size)
    }

    @Test("SZX maps to sizes 16...1024 and back")
    func sizes() throws {
        for szx in UInt8(0)...6 {
            let block = try CoAPBlockOption(number: 3, more: false, szx: szx)
            #expect(block.size == 16 << Int(szx))
            #expect(CoAPBlockOption.szx(forSize: block.size) == szx)
        }
        #expect(CoAPBlockOption.szx(forSize: 8) == nil)
        #expect(CoAPBlockOption.szx(forSize: 2048) == nil)
        #expect(CoAPBlockOption.szx(forSize: 100) == nil)
        #expect(CoAPBlockOption.blockSize(atMost: 100) == 64)
        #expect(CoAPBlockOption.blockSize(atMost: 5000) == 1024)
        #expect(CoAPBlockOption.blockSize(atMost: 3) == 16)
        #expect(CoAPBlockOption.blockSize(atMost: 512) == 512)
    }

    @Test("SZX 7 is rejected as reserved, mapping to 4.00")
    func reservedSZX() {
        #expect(throws: CoAPBlockError(code: .reservedSZX, reason: "")) {
            try CoAPBlockOption(option: CoAPOption(number: .block1, bytes: [0x0F]))
        }
        do {
            _ = try CoAPBlockOption(uint: 0x17)
            Issue.record("SZX 7 accepted")
        } catch {
            #expect(error.code == .reservedSZX)
            #expect(error.responseCode == .badRequest)
        }
    }

    @Test("values longer than 3 bytes, numbers past 2^20 - 1 and bad sizes are rejected")
    func badValues() {
        #expect(throws: CoAPBlockError(code: .invalidOptionLength, reason: "")) {
            try CoAPBlockOption(option: CoAPOption(number: .block2, bytes: [0, 0, 0, 0x10]))
        }
        #expect(throws: CoAPBlockError(code: .invalidValue, reason: "")) {
            try CoAPBlockOption(number: 1 << 20, more: false, szx: 0)
        }
        #expect(throws: CoAPBlockError(code: .invalidValue, reason: "")) {
            try CoAPBlockOption(number: 0, more: false, size: 48)
        }
    }

    @Test("message accessors for Block1/Block2/Size1/Size2/ETag survive a wire round trip")
    func messageAccessors() throws {
        var m = CoAPMessage(type: .confirmable, code: .put, messageID: 7, token: CoAPToken([1, 2])!)
        m.uriPath = ["fw", "image"]
        m.setBlock1(try CoAPBlockOption(number: 5, more: true, size: 256))
        m.setBlock2(try CoAPBlockOption(number: 0, more: false, size: 64))
        m.size1 = 70_000
        m.size2 = 0
        m.eTag = [0xAA, 0xBB]
        let decoded = try CoAPMessage(decoding: m.encoded())
        #expect(try decoded.block1() == CoAPBlockOption(number: 5, more: true, size: 256))
        #expect(try decoded.block2() == CoAPBlockOption(number: 0, more: false, size: 64))
        #expect(decoded.size1 == 70_000)
        #expect(decoded.size2 == 0)
        #expect(decoded.eTag == [0xAA, 0xBB])
        #expect(decoded.option(.size2)?.value.readableBytes == 0)
        var cleared = decoded
        cleared.setBlock1(nil)
        #expect(try cleared.block1() == nil)
        #expect(try cleared.block2() != nil)
    }

    @Test("the request key ignores block-wise options, Observe and ETag but not path, query or format")
    func requestKey() throws {
        var a = CoAPMessage(type: .confirmable, code: .put, messageID: 1, token: CoAPToken([1])!)
        a.uriPath = ["a"]
        a.contentFormat = .octetStream
        var b = a
        b.messageID = 2
        b.token = CoAPToken([9, 9])!
        b.setBlock1(try CoAPBlockOption(number: 3, more: true, size: 16))
        b.size1 = 99
        b.observe = 0
        b.eTag = [1]
        #expect(CoAPBlockRequestKey(a) == CoAPBlockRequestKey(b))
        var c = a
        c.uriQuery = ["x=1"]
        #expect(CoAPBlockRequestKey(a) != CoAPBlockRequestKey(c))
        var d = a
        d.contentFormat = .textPlain
        #expect(CoAPBlockRequestKey(a) != CoAPBlockRequestKey(d))
        var e = a
        e.code = .post
        #expect(CoAPBlockRequestKey(a) != CoAPBlockRequestKey(e))
    }
}
