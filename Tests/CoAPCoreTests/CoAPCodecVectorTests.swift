import CoAPCore
import NIOCore
import Testing

/// Byte-exact vectors built from the rules of RFC 7252 section 3 and the message flows of section 5.2.
@Suite("CoAP codec vectors (RFC 7252 section 3)")
struct CoAPCodecVectorTests {
    static func bytes(_ m: CoAPMessage) -> [UInt8] { Array(m.encoded().readableBytesView) }

    @Test("RFC 7252 figure 18 (5.2.2): CON GET, empty ACK, CON 2.05 separate response, empty ACK")
    func separateResponseFlow() throws {
        var get = CoAPMessage(type: .confirmable, code: .get, messageID: 0x7A10, token: CoAPToken([0x73])!)
        get.uriPath = ["temperature"]
        #expect(Self.bytes(get) == [0x41, 0x01, 0x7A, 0x10, 0x73, 0xBB] + Array("temperature".utf8))
        let ack = CoAPMessage(type: .acknowledgement, code: .empty, messageID: 0x7A10)
        #expect(Self.bytes(ack) == [0x60, 0x00, 0x7A, 0x10])
        let response = CoAPMessage(
            type: .confirmable, code: .content, messageID: 0x23BB, token: CoAPToken([0x73])!,
            payload: ByteBuffer(string: "22.5 C"))
        #expect(Self.bytes(response) == [0x41, 0x45, 0x23, 0xBB, 0x73, 0xFF] + Array("22.5 C".utf8))
        let responseAck = CoAPMessage(type: .acknowledgement, code: .empty, messageID: 0x23BB)
        #expect(Self.bytes(responseAck) == [0x60, 0x00, 0x23, 0xBB])
        for m in [get, ack, response, responseAck] {
            #expect(try CoAPMessage(decoding: m.encoded()) == m)
        }
        let reset = CoAPMessage(type: .reset, code: .empty, messageID: 0x23BB)
        #expect(Self.bytes(reset) == [0x70, 0x00, 0x23, 0xBB])
    }

    @Test("option delta and length boundaries: 12, 13, 268, 269, 65535", arguments: [
        (12, 0, [0xC0] as [UInt8]),
        (13, 0, [0xD0, 0x00]),
        (268, 0, [0xD0, 0xFF]),
        (269, 0, [0xE0, 0x00, 0x00]),
        (65535, 0, [0xE0, 0xFE, 0xF2]),
        (1, 12, [0x1C]),
        (1, 13, [0x1D, 0x00]),
        (1, 268, [0x1D, 0xFF]),
        (1, 269, [0x1E, 0x00, 0x00]),
        (1, 1000, [0x1E, 0x02, 0xDB]),
    ] as [(Int, Int, [UInt8])])
    func optionBoundaries(number: Int, length: Int, head: [UInt8]) throws {
        var m = CoAPMessage(type: .nonConfirmable, code: .post, messageID: 0x0102)
        m.addOption(CoAPOption(number: .init(rawValue: UInt16(number)), bytes: [UInt8](repeating: 0x5A, count: length)))
        let wire = Self.bytes(m)
        #expect(Array(wire[4..<(4 + head.count)]) == head)
        #expect(wire.count == 4 + head.count + length)
        let decoded = try CoAPMessage(decoding: wire)
        #expect(decoded.options.map(\.number.rawValue) == [UInt16(number)])
        #expect(decoded.options.first?.value.readableBytes == length)
        #expect(decoded == m)
    }

    @Test("option numbers past 65535 are a format error")
    func optionNumberOverflow() {
        // Option 65535 then delta 1 (0x10): 65536.
        let wire: [UInt8] = [0x50, 0x02, 0x00, 0x01, 0xE0, 0xFE, 0xF2, 0x10]
        #expect(throws: CoAPMessageDecodingError(code: .optionNumberOverflow, reason: "", offset: 0)) {
            try CoAPMessage(decoding: wire)
        }
    }

    @Test("errors carry offset, option number, message ID and type")
    func errorContext() throws {
        // CON, MID 0xABCD, Uri-Path (11) of length 5 with only 2 bytes present.
        let wire: [UInt8] = [0x40, 0x01, 0xAB, 0xCD, 0xB5, 0x61, 0x62]
        do {
            _ = try CoAPMessage(decoding: wire)
            Issue.record("decoding should fail")
        } catch {
            #expect(error.code == .truncated)
            #expect(error.offset == 5 && error.optionNumber == 11)
            #expect(error.messageID == 0xABCD && error.messageType == .confirmable)
        }
        do {
            _ = try CoAPMessage(decoding: [0x40, 0x01, 0x00, 0x07, 0x10, 0xF0] as [UInt8])
            Issue.record("decoding should fail")
        } catch {
            #expect(error.code == .reservedNibble && error.offset == 5 && error.optionNumber == 1)
        }
        // Extended delta byte missing.
        #expect(throws: CoAPMessageDecodingError(code: .truncated, reason: "", offset: 0)) {
            try CoAPMessage(decoding: [0x40, 0x01, 0x00, 0x07, 0xD0] as [UInt8])
        }
        // Extended length bytes missing.
        #expect(throws: CoAPMessageDecodingError(code: .truncated, reason: "", offset: 0)) {
            try CoAPMessage(decoding: [0x40, 0x01, 0x00, 0x07, 0x1E, 0x01] as [UInt8])
        }
        // Token runs past the end.
        #expect(throws: CoAPMessageDecodingError(code: .truncated, reason: "", offset: 0)) {
            try CoAPMessage(decoding: [0x48, 0x01, 0x00, 0x07, 1, 2, 3] as [UInt8])
        }
        // Reserved classes 1, 6 and 7.
        for code: UInt8 in [0x20, 0xC0, 0xE1] {
            #expect(throws: CoAPMessageDecodingError(code: .reservedCodeClass, reason: "", offset: 0)) {
                try CoAPMessage(decoding: [0x40, code, 0x00, 0x07] as [UInt8])
            }
        }
        // An empty message with a payload marker or an option.
        for tail: [UInt8] in [[0xFF, 0x01], [0x10]] {
            #expect(throws: CoAPMessageDecodingError(code: .nonEmptyEmptyMessage, reason: "", offset: 0)) {
                try CoAPMessage(decoding: [0x60, 0x00, 0x00, 0x07] + tail)
            }
        }
    }

    @Test("8-byte token, repeated and unknown options, a payload with 0xFF bytes round-trip exactly")
    func roundTrips() throws {
        var m = CoAPMessage(
            type: .confirmable, code: .put, messageID: 0xFFFF, token: CoAPToken(value: 0x0123_4567_89AB_CDEF))
        m.uriPath = ["3", "0", "13"]
        m.uriQuery = ["a=1", "b"]
        m.addOption(CoAPOption(number: .init(rawValue: 65000), bytes: [0xDE, 0xAD]))
        m.addOption(CoAPOption(number: .ifMatch, bytes: []))
        m.addOption(CoAPOption(number: .eTag, bytes: [1, 2, 3, 4, 5, 6, 7, 8]))
        m.contentFormat = .lwm2mTLV
        m.payload = ByteBuffer(bytes: [0xFF, 0x00, 0xFF, 0xFF])
        let wire = m.encoded()
        #expect(wire.readableBytes == m.encodedSize)
        let d = try CoAPMessage(decoding: wire)
        #expect(d == m)
        #expect(d.token.bytes == [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF])
        #expect(d.uriPath == ["3", "0", "13"] && d.uriQuery == ["a=1", "b"])
        #expect(d.contentFormat == .lwm2mTLV && d.payloadBytes == [0xFF, 0x00, 0xFF, 0xFF])
        #expect(d.option(.init(rawValue: 65000))?.bytesValue == [0xDE, 0xAD])
        #expect(d.options.map(\.number.rawValue) == [1, 4, 11, 11, 11, 12, 15, 15, 65000])
    }

    @Test("uint options use the shortest form; 0 is empty; leading zeros are accepted on input")
    func uintOptions() throws {
        #expect(CoAPOption(number: .observe, uint: 0).value.readableBytes == 0)
        #expect(CoAPOption(number: .observe, uint: 255).bytesValue == [0xFF])
        #expect(CoAPOption(number: .size2, uint: 65536).bytesValue == [0x01, 0x00, 0x00])
        #expect(CoAPOption(number: .maxAge, uint: .max).bytesValue == [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(CoAPOption(number: .maxAge, bytes: [0x00, 0x3C]).uintValue == 60)
        #expect(CoAPOption(number: .maxAge, bytes: [1, 2, 3, 4, 5]).uintValue == nil)
        // Block2 NUM=3, M=1, SZX=6 in one byte: 0x3E.
        var m = CoAPMessage(type: .acknowledgement, code: .content, messageID: 1)
        m.addOption(CoAPOption(number: .block2, uint: 3 << 4 | 1 << 3 | 6))
        #expect(Array(m.encoded().readableBytesView) == [0x60, 0x45, 0x00, 0x01, 0xD1, 0x0A, 0x3E])
    }

    @Test("decoding a slice honours its reader index")
    func sliceDecoding() throws {
        var buffer = ByteBuffer(bytes: [0xAA, 0xBB])
        buffer.writeBytes([0x60, 0x00, 0x12, 0x34] as [UInt8])
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(try CoAPMessage(decoding: buffer) == CoAPMessage(type: .acknowledgement, code: .empty, messageID: 0x1234))
    }
}
