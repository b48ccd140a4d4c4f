import CoAPCore
import NIOCore
import Testing

@Suite("Block1 upload sequencer on the client (RFC 7959 section 2.3)")
struct CoAPBlock1UploadTests {
    static func reply(_ code: CoAPCode, to request: CoAPMessage, block1: CoAPBlockOption? = nil) -> CoAPMessage {
        var m = CoAPMessage(type: .acknowledgement, code: code, messageID: request.messageID, token: request.token)
        m.setBlock1(block1)
        return m
    }

    @Test("a body that fits goes in one message without Block1")
    func fits() throws {
        let request = BlockTest.put(["f"], body: BlockTest.body(1024))
        var upload = try CoAPBlock1Upload(request: request)
        #expect(!upload.isBlockwise)
        #expect(upload.currentRequest == request)
        guard case .complete(let r) = try upload.handle(Self.reply(.changed, to: request)) else {
            Issue.record("not complete"); return
        }
        #expect(r.code == .changed)
    }

    @Test("a larger body is sliced: Size1 on block 0, M set on all but the last, options repeated")
    func slices() throws {
        let body = BlockTest.body(100)
        var upload = try CoAPBlock1Upload(request: BlockTest.put(["f"], body: body), blockSize: 32)
        #expect(upload.isBlockwise)
        var received: [UInt8] = []
        var blocks: [CoAPBlockOption] = []
        while true {
            let req = upload.currentRequest
            let block = try #require(try req.block1())
            blocks.append(block)
            received += req.payloadBytes
            #expect(req.size1 == (block.number == 0 ? 100 : nil))
            #expect(req.uriPath == ["f"])
            #expect(req.contentFormat == .octetStream)
            let step = try upload.handle(Self.reply(block.more ? .continue : .changed, to: req, block1: block))
            if case .complete(let final) = step {
                #expect(final.code == .changed)
                break
            }
        }
        #expect(received == body)
        #expect(blocks.map(\.number) == [0, 1, 2, 3])
        #expect(blocks.map(\.more) == [true, true, true, false])
        #expect(upload.acknowledgedBytes == 100)
    }

    @Test("a 2.31 with a smaller SZX makes the client continue at the server's size from the right block")
    func adoptsSmallerSize() throws {
        let body = BlockTest.body(1500)
        var upload = try CoAPBlock1Upload(request: BlockTest.put(["f"], body: body))
        let b0 = upload.currentRequest
        #expect(try b0.block1() == CoAPBlockOption(number: 0, more: true, size: 1024))
        guard case .request(let b1) = try upload.handle(
            Self.reply(.continue, to: b0, block1: try CoAPBlockOption(number: 0, more: true, size: 256)))
        else { Issue.record("no next"); return }
        #expect(try b1.block1() == CoAPBlockOption(number: 4, more: true, size: 256))
        #expect(b1.payloadBytes == Array(body[1024..<1280]))
        #expect(upload.blockSize == 256)
    }

    @Test("a 4.13 with a Block1 size restarts block-wise at that size (one-piece and block 0)")
    func tooLargeRetry() throws {
        let body = BlockTest.body(500)
        var upload = try CoAPBlock1Upload(request: BlockTest.put(["f"], body: body))
        #expect(!upload.isBlockwise)
        guard case .request(let first) = try upload.handle(
            Self.reply(.requestEntityTooLarge, to: upload.currentRequest, block1: try CoAPBlockOption(number: 0, more: false, size: 128)))
        else { Issue.record("no retry"); return }
        #expect(try first.block1() == CoAPBlockOption(number: 0, more: true, size: 128))
        #expect(first.size1 == 500)
        guard case .request(let again) = try upload.handle(
            Self.reply(.requestEntityTooLarge, to: first, block1: try CoAPBlockOption(number: 0, more: false, size: 64)))
        else { Issue.record("no second retry"); return }
        #expect(try again.block1() == CoAPBlockOption(number: 0, more: true, size: 64))
        #expect(again.payloadBytes == Array(body[0..<64]))
    }

    @Test("a 4.13 whose Size1 is below the body, and errors in the middle, end the upload with that response")
    func failures() throws {
        var upload = try CoAPBlock1Upload(request: BlockTest.put(["f"], body: BlockTest.body(500)), blockSize: 64)
        var tooLarge = Self.reply(.requestEntityTooLarge, to: upload.currentRequest, block1: try CoAPBlockOption(number: 0, more: false, size: 16))
        tooLarge.size1 = 400
        guard case .complete(let r) = try upload.handle(tooLarge) else { Issue.record("should end"); return }
        #expect(r.size1 == 400)

        var u2 = try CoAPBlock1Upload(request: BlockTest.put(["f"], body: BlockTest.body(100)), blockSize: 16)
        _ = try u2.handle(Self.reply(.continue, to: u2.currentRequest, block1: try u2.currentRequest.block1()))
        guard case .complete(let r2) = try u2.handle(Self.reply(.requestEntityIncomplete, to: u2.currentRequest)) else {
            Issue.record("should end"); return
        }
        #expect(r2.code == .requestEntityIncomplete)
    }

    @Test("a late response echoing an earlier block is ignored; a non-atomic 2.04 per block goes on")
    func ignoresStaleAndAcceptsNonAtomic() throws {
        var upload = try CoAPBlock1Upload(request: BlockTest.put(["f"], body: BlockTest.body(48)), blockSize: 16)
        let b0 = upload.currentRequest
        guard case .request(let b1) = try upload.handle(Self.reply(.changed, to: b0, block1: try b0.block1())) else {
            Issue.record("2.04 did not continue"); return
        }
        #expect(try b1.block1()?.number == 1)
        guard case .ignore = try upload.handle(Self.reply(.continue, to: b0, block1: try b0.block1())) else {
            Issue.record("stale not ignored"); return
        }
        #expect(upload.currentRequest == b1)
    }

    @Test("2.31 after the last block is a protocol error")
    func continueAfterLast() throws {
        var upload = try CoAPBlock1Upload(request: BlockTest.put(["f"], body: BlockTest.body(20)), blockSize: 16)
        _ = try upload.handle(Self.reply(.continue, to: upload.currentRequest, block1: try upload.currentRequest.block1()))
        let last = upload.currentRequest
        #expect(throws: CoAPBlockError(code: .unexpectedResponse, reason: "")) {
            try upload.handle(Self.reply(.continue, to: last, block1: try last.block1()))
        }
    }

    @Test("a body needing more than 2^20 small blocks uses larger blocks")
    func hugeBodyGrowsBlocks() throws {
        let body = [UInt8](repeating: 1, count: 17 << 20)
        let upload = try CoAPBlock1Upload(request: BlockTest.put(["f"], body: body), blockSize: 16)
        #expect(upload.blockSize == 32)
    }
}
