import CoAPCore
import NIOCore
import Testing

@Suite("docs/CoAPCore-BlockwiseObserve.md example")
struct CoAPBlockDocsExampleTests {
    @Test("the README example runs: a 3000-byte upload renegotiated to 256-byte blocks")
    func example() throws {
        var received = 0
        var requests = 0
        // --- the example, as in the docs ---
        var server = CoAPBlock1Reassembler<String>(configuration: .init(maxBodySize: 64 * 1024, preferredBlockSize: 256))
        var put = CoAPMessage(type: .confirmable, code: .put, messageID: 1, payload: ByteBuffer(repeating: 7, count: 3000))
        put.uriPath = ["firmware"]
        var upload = try CoAPBlock1Upload(request: put)
        let now = NIODeadline.now()
        var step = CoAPBlock1Upload.Step.request(upload.currentRequest)
        while case .request(let request) = step {
            requests += 1
            switch server.receive(request, from: "device-1", now: now) {
            case .respond(let reply):
                step = try upload.handle(reply)
            case .complete(let whole, let block1):
                var changed = CoAPMessage(type: .acknowledgement, code: .changed, messageID: request.messageID)
                changed.setBlock1(block1)
                step = try upload.handle(changed)
                received = whole.payload.readableBytes
            case .passThrough:
                step = .complete(request)
            }
        }
        // --- end of the example ---
        #expect(received == 3000)
        #expect(requests == 1 + (3000 - 1024 + 255) / 256)  // one 1024-byte block, then 256-byte blocks
        guard case .complete(let final) = step else { Issue.record("not complete"); return }
        #expect(final.code == .changed)
        #expect(upload.blockSize == 256)
    }
}
