import CoAPCore
import NIOCore
import Testing

@Suite("Block2 on both sides (RFC 7959 section 2.4)")
struct CoAPBlock2Tests {
    typealias Responder = CoAPBlock2Responder<String>
    let t0 = BlockTest.t0

    /// Serves `request` like an endpoint would: cache first, else the handler's full response, sliced.
    static func serve(
        _ request: CoAPMessage, from peer: String, responder: inout Responder, now: NIODeadline, body: [UInt8],
        handlerCalls: inout Int
    ) -> CoAPMessage {
        if let cached = responder.cachedResponse(for: request, from: peer, now: now) { return cached }
        handlerCalls += 1
        return responder.response(BlockTest.content(for: request, body: body), for: request, to: peer, now: now)
    }

    @Test("a large response is sliced into 1024-byte blocks with Block2, Size2 on block 0 and an ETag")
    func slicesLargeResponse() throws {
        var responder = Responder()
        let body = BlockTest.body(2500)
        let request = BlockTest.get(["big"])
        let first = responder.response(BlockTest.content(for: request, body: body), for: request, to: "a", now: t0)
        #expect(first.code == .content)
        #expect(first.payloadBytes == Array(body[0..<1024]))
        #expect(try first.block2() == CoAPBlockOption(number: 0, more: true, size: 1024))
        #expect(first.size2 == 2500)
        let etag = try #require(first.eTag)
        #expect(etag.count == 8)
        #expect(first.contentFormat == .octetStream)
        #expect(responder.count == 1)
        // Block 2 from the cache, without calling a handler.
        var next = BlockTest.get(["big"], mid: 2)
        next.setBlock2(try CoAPBlockOption(number: 2, more: false, size: 1024))
        let v1 = responder.cachedResponse(for: next, from: "a", now: t0)
        let last = try #require(v1)
        #expect(last.payloadBytes == Array(body[2048...]))
        #expect(try last.block2() == CoAPBlockOption(number: 2, more: false, size: 1024))
        #expect(last.eTag == etag)
        #expect(last.size2 == nil)
        #expect(last.messageID == 2)
        #expect(responder.count == 0)  // the last block releases the representation
    }

    @Test("small responses pass unchanged; errors are never sliced")
    func smallPassesThrough() throws {
        var responder = Responder()
        let request = BlockTest.get(["s"])
        let small = BlockTest.content(for: request, body: BlockTest.body(100))
        let v2 = responder.response(small, for: request, to: "a", now: t0)
        #expect(v2 == small)
        var error = BlockTest.content(for: request, body: BlockTest.body(3000))
        error.code = .internalServerError
        let v3 = responder.response(error, for: request, to: "a", now: t0)
        #expect(v3 == error)
        #expect(responder.count == 0)
    }

    @Test("early negotiation: the client's smaller size is used; the server's smaller preference wins over larger asks")
    func negotiation() throws {
        var responder = Responder(configuration: .init(preferredBlockSize: 256))
        var request = BlockTest.get(["n"])
        request.setBlock2(try CoAPBlockOption(number: 0, more: false, size: 64))
        let r = responder.response(BlockTest.content(for: request, body: BlockTest.body(200)), for: request, to: "a", now: t0)
        #expect(try r.block2() == CoAPBlockOption(number: 0, more: true, size: 64))
        #expect(r.payload.readableBytes == 64)

        var big = BlockTest.get(["m"])
        big.setBlock2(try CoAPBlockOption(number: 0, more: false, size: 1024))
        let r2 = responder.response(BlockTest.content(for: big, body: BlockTest.body(600)), for: big, to: "a", now: t0)
        #expect(try r2.block2() == CoAPBlockOption(number: 0, more: true, size: 256))
        // A late request at the larger size maps to the same byte offset at the smaller size.
        var late = BlockTest.get(["m"], mid: 3)
        late.setBlock2(try CoAPBlockOption(number: 1, more: false, size: 512))
        let v4 = responder.cachedResponse(for: late, from: "a", now: t0)
        let r3 = try #require(v4)
        #expect(try r3.block2() == CoAPBlockOption(number: 2, more: false, size: 256))
        #expect(r3.payloadBytes == Array(BlockTest.body(600)[512...]))
    }

    @Test("Size2 = 0 in a request asks for the size in every block")
    func size2OnRequest() throws {
        var responder = Responder(configuration: .init(preferredBlockSize: 16))
        var request = BlockTest.get(["z"])
        request.size2 = 0
        request.setBlock2(try CoAPBlockOption(number: 1, more: false, size: 16))
        let r = responder.response(BlockTest.content(for: request, body: BlockTest.body(40)), for: request, to: "a", now: t0)
        #expect(r.size2 == 40)
        #expect(try r.block2() == CoAPBlockOption(number: 1, more: true, size: 16))
    }

    @Test("a block past the end answers 4.02 Bad Option; a malformed Block2 answers before any handler")
    func outOfRange() throws {
        var responder = Responder()
        var request = BlockTest.get(["o"])
        request.setBlock2(try CoAPBlockOption(number: 5, more: false, size: 16))
        let r = responder.response(BlockTest.content(for: request, body: BlockTest.body(40)), for: request, to: "a", now: t0)
        #expect(r.code == .badOption)
        #expect(r.payload.readableBytes == 0)
        var bad = BlockTest.get(["o"])
        bad.setOption(.block2, CoAPOption(number: .block2, bytes: [0x17]))
        let v5 = responder.cachedResponse(for: bad, from: "a", now: t0)
        #expect(v5?.code == .badRequest)
    }

    @Test("concurrent clients fetching a changing resource each get one consistent representation")
    func concurrentClientsDoNotMix() throws {
        var responder = Responder(configuration: .init(preferredBlockSize: 64))
        var current = BlockTest.body(200, seed: 1)
        var calls = 0
        var a = CoAPBlock2Download(request: BlockTest.get(["r"]))
        var b = CoAPBlock2Download(request: BlockTest.get(["r"]))
        var aStep = try a.handle(Self.serve(a.currentRequest, from: "A", responder: &responder, now: t0, body: current, handlerCalls: &calls))
        current = BlockTest.body(200, seed: 2)  // the resource changes between A's blocks
        var bStep = try b.handle(Self.serve(b.currentRequest, from: "B", responder: &responder, now: t0, body: current, handlerCalls: &calls))
        var aBody: [UInt8]?
        var bBody: [UInt8]?
        while aBody == nil || bBody == nil {
            switch aStep {
            case .request(let req):
                aStep = try a.handle(Self.serve(req, from: "A", responder: &responder, now: t0, body: current, handlerCalls: &calls))
            case .complete(let m): aBody = m.payloadBytes
            case .ignore: Issue.record("unexpected ignore")
            }
            switch bStep {
            case .request(let req):
                bStep = try b.handle(Self.serve(req, from: "B", responder: &responder, now: t0, body: current, handlerCalls: &calls))
            case .complete(let m): bBody = m.payloadBytes
            case .ignore: Issue.record("unexpected ignore")
            }
        }
        #expect(aBody == BlockTest.body(200, seed: 1))
        #expect(bBody == BlockTest.body(200, seed: 2))
        #expect(calls == 2)  // later blocks came from the per-client cache
        #expect(responder.count == 0)
    }

    @Test("without a cache, a changed representation changes the ETag and the client restarts")
    func etagRestart() throws {
        var responder = Responder(configuration: .init(preferredBlockSize: 32, maxCachedRepresentations: 0))
        var calls = 0
        var download = CoAPBlock2Download(request: BlockTest.get(["e"]))
        var step = try download.handle(Self.serve(download.currentRequest, from: "A", responder: &responder, now: t0, body: BlockTest.body(100, seed: 1), handlerCalls: &calls))
        var requests = 1
        while case .request(let req) = step {
            requests += 1
            step = try download.handle(Self.serve(req, from: "A", responder: &responder, now: t0, body: BlockTest.body(100, seed: 2), handlerCalls: &calls))
        }
        guard case .complete(let whole) = step else { Issue.record("not complete"); return }
        #expect(whole.payloadBytes == BlockTest.body(100, seed: 2))
        #expect(download.restartsLeft == 1)
        #expect(requests == 1 + 1 + 4)  // block 0 (v1), block 1 (v2, restart), blocks 0...3 of v2
    }

    @Test("the client gives up with representationChanged when the body keeps changing")
    func etagGivesUp() throws {
        var responder = Responder(configuration: .init(preferredBlockSize: 32, maxCachedRepresentations: 0))
        var calls = 0
        var version: UInt8 = 0
        var download = CoAPBlock2Download(request: BlockTest.get(["e"]), maxRestarts: 1)
        var step = try download.handle(Self.serve(download.currentRequest, from: "A", responder: &responder, now: t0, body: BlockTest.body(100, seed: 0), handlerCalls: &calls))
        #expect(throws: CoAPBlockError(code: .representationChanged, reason: "")) {
            while case .request(let req) = step {
                version += 1
                step = try download.handle(Self.serve(req, from: "A", responder: &responder, now: t0, body: BlockTest.body(100, seed: version), handlerCalls: &calls))
            }
        }
    }

    @Test("the client assembles, keeps the first block's options, drops Observe from later requests")
    func downloadRequests() throws {
        var request = BlockTest.get(["d"])
        request.observe = 0
        request.uriQuery = ["q=1"]
        var download = CoAPBlock2Download(request: request, blockSize: 100)
        #expect(try download.initialRequest.block2() == CoAPBlockOption(number: 0, more: false, size: 64))
        #expect(download.initialRequest.observe == 0)
        var first = BlockTest.content(for: request, body: BlockTest.body(64))
        first.observe = 77
        first.setBlock2(try CoAPBlockOption(number: 0, more: true, size: 64))
        guard case .request(let next) = try download.handle(first) else { Issue.record("no next"); return }
        #expect(next.observe == nil)
        #expect(next.uriPath == ["d"])
        #expect(next.uriQuery == ["q=1"])
        #expect(try next.block2() == CoAPBlockOption(number: 1, more: false, size: 64))
        // A duplicate of block 0 is ignored.
        guard case .ignore = try download.handle(first) else { Issue.record("duplicate not ignored"); return }
        var second = BlockTest.content(for: next, body: Array(BlockTest.body(70)[64...]))
        second.setBlock2(try CoAPBlockOption(number: 1, more: false, size: 64))
        guard case .complete(let whole) = try download.handle(second) else { Issue.record("not complete"); return }
        #expect(whole.payloadBytes == BlockTest.body(70))
        #expect(whole.observe == 77)
        #expect(try whole.block2() == nil)
    }

    @Test("the client enforces its maximum body size from Size2 and from the data")
    func downloadTooLarge() throws {
        var d1 = CoAPBlock2Download(request: BlockTest.get(["d"]), maxBodySize: 100)
        var r = BlockTest.content(for: BlockTest.get(["d"]), body: BlockTest.body(64))
        r.setBlock2(try CoAPBlockOption(number: 0, more: true, size: 64))
        r.size2 = 1000
        #expect(throws: CoAPBlockError(code: .tooLarge, reason: "")) { try d1.handle(r) }
        var d2 = CoAPBlock2Download(request: BlockTest.get(["d"]), maxBodySize: 100)
        r.size2 = nil
        _ = try d2.handle(r)
        var r2 = r
        r2.setBlock2(try CoAPBlockOption(number: 1, more: true, size: 64))
        #expect(throws: CoAPBlockError(code: .tooLarge, reason: "")) { try d2.handle(r2) }
    }

    @Test("the client rejects a short non-final block and an error in the middle; a first error completes")
    func downloadFailures() throws {
        var d = CoAPBlock2Download(request: BlockTest.get(["d"]))
        var notFound = BlockTest.content(for: BlockTest.get(["d"]), body: [])
        notFound.code = .notFound
        guard case .complete(let m) = try d.handle(notFound) else { Issue.record("error not passed"); return }
        #expect(m.code == .notFound)

        var d2 = CoAPBlock2Download(request: BlockTest.get(["d"]))
        var short = BlockTest.content(for: BlockTest.get(["d"]), body: BlockTest.body(10))
        short.setBlock2(try CoAPBlockOption(number: 0, more: true, size: 16))
        #expect(throws: CoAPBlockError(code: .badBlockSize, reason: "")) { try d2.handle(short) }

        var d3 = CoAPBlock2Download(request: BlockTest.get(["d"]))
        var ok = BlockTest.content(for: BlockTest.get(["d"]), body: BlockTest.body(16))
        ok.setBlock2(try CoAPBlockOption(number: 0, more: true, size: 16))
        _ = try d3.handle(ok)
        #expect(throws: CoAPBlockError(code: .unexpectedResponse, reason: "")) { try d3.handle(notFound) }
    }
}
