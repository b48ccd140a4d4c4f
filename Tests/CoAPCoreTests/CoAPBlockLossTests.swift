import CoAPCore
import NIOCore
import Testing

/// Block-wise transfers driven end to end between the pure client sequencers and the pure server components over
/// a lossy simulated link. The link drops requests and responses at random; the client retries the same message
/// (same message ID, as CON retransmission does) and the simulated server replays its answer for a message ID it
/// has seen (as the message layer's deduplication does).
@Suite("Block-wise transfers with loss")
struct CoAPBlockLossTests {
    struct LossyLink {
        var random: TestRandom
        var lossPercent: UInt64
        var dropped = 0
        mutating func delivers() -> Bool {
            if random.next() % 100 < lossPercent {
                dropped += 1
                return false
            }
            return true
        }
    }

    struct SimulatedServer {
        var reassembler = CoAPBlock1Reassembler<String>(configuration: .init(preferredBlockSize: 256))
        var responder = CoAPBlock2Responder<String>(configuration: .init(preferredBlockSize: 128))
        var replay: [UInt16: CoAPMessage] = [:]
        var stored: [String: [UInt8]] = [:]
        var handlerCalls = 0
        var now = BlockTest.t0

        mutating func receive(_ request: CoAPMessage, from peer: String, dedup: Bool) -> CoAPMessage {
            if dedup, let cached = replay[request.messageID] { return cached }
            let response = handle(request, from: peer)
            if dedup { replay[request.messageID] = response }
            return response
        }

        private mutating func handle(_ request: CoAPMessage, from peer: String) -> CoAPMessage {
            switch request.code {
            case .put:
                switch reassembler.receive(request, from: peer, now: now) {
                case .respond(let r): return r
                case .passThrough:
                    stored[request.uriPathString] = request.payloadBytes
                    return CoAPMessage(type: .acknowledgement, code: .changed, messageID: request.messageID, token: request.token)
                case .complete(let whole, let block1):
                    handlerCalls += 1
                    stored[whole.uriPathString] = whole.payloadBytes
                    var r = CoAPMessage(type: .acknowledgement, code: .changed, messageID: request.messageID, token: request.token)
                    r.setBlock1(block1)
                    return r
                }
            default:
                if let cached = responder.cachedResponse(for: request, from: peer, now: now) { return cached }
                handlerCalls += 1
                guard let body = stored[request.uriPathString] else {
                    return CoAPMessage(type: .acknowledgement, code: .notFound, messageID: request.messageID, token: request.token)
                }
                return responder.response(BlockTest.content(for: request, body: body), for: request, to: peer, now: now)
            }
        }
    }

    /// Sends `request` until a response gets through; returns it.
    static func exchange(
        _ request: CoAPMessage, link: inout LossyLink, server: inout SimulatedServer, peer: String, dedup: Bool,
        nextMID: inout UInt16
    ) throws -> CoAPMessage {
        var attempt = request
        attempt.messageID = nextMID
        nextMID &+= 1
        for _ in 0..<50 {
            if link.delivers() {
                let response = server.receive(attempt, from: peer, dedup: dedup)
                if link.delivers() { return response }
            }
            if !dedup {  // NON-style retry: a new message ID each time
                attempt.messageID = nextMID
                nextMID &+= 1
            }
            server.now = server.now + .seconds(2)
        }
        throw CoAPBlockError(code: .unexpectedResponse, reason: "link never delivered")
    }

    static func upload(
        _ body: [UInt8], path: [String], link: inout LossyLink, server: inout SimulatedServer, peer: String,
        nextMID: inout UInt16
    ) throws -> CoAPMessage {
        var upload = try CoAPBlock1Upload(request: BlockTest.put(path, body: body), blockSize: 1024)
        var request = upload.currentRequest
        while true {
            let response = try exchange(request, link: &link, server: &server, peer: peer, dedup: true, nextMID: &nextMID)
            switch try upload.handle(response) {
            case .request(let next): request = next
            case .complete(let final): return final
            case .ignore: continue
            }
        }
    }

    static func download(
        path: [String], link: inout LossyLink, server: inout SimulatedServer, peer: String, dedup: Bool,
        nextMID: inout UInt16
    ) throws -> CoAPMessage {
        var download = CoAPBlock2Download(request: BlockTest.get(path))
        var request = download.currentRequest
        while true {
            let response = try exchange(request, link: &link, server: &server, peer: peer, dedup: dedup, nextMID: &nextMID)
            switch try download.handle(response) {
            case .request(let next): request = next
            case .complete(let whole): return whole
            case .ignore: continue
            }
        }
    }

    @Test("upload then download of 64 KiB with 25% loss each way", arguments: [UInt64(1), 2, 3])
    func roundTripWithLoss(seed: UInt64) throws {
        var link = LossyLink(random: TestRandom(seed: seed), lossPercent: 25)
        var server = SimulatedServer()
        var mid: UInt16 = 100
        let body = BlockTest.body(64 * 1024 + 77, seed: UInt8(seed))
        let put = try Self.upload(body, path: ["fw"], link: &link, server: &server, peer: "c", nextMID: &mid)
        #expect(put.code == .changed)
        #expect(try put.block1()?.more == false)
        #expect(server.stored["/fw"] == body)
        #expect(server.handlerCalls == 1)
        #expect(server.reassembler.count == 0)

        let got = try Self.download(path: ["fw"], link: &link, server: &server, peer: "c", dedup: true, nextMID: &mid)
        #expect(got.code == .content)
        #expect(got.payloadBytes == body)
        #expect(try got.block2() == nil)
        #expect(server.handlerCalls == 2)  // one for the upload, one for block 0; later blocks came from the cache
        #expect(link.dropped > 50)
    }

    @Test("download with NON-style retries (new message IDs, no deduplication) and 30% loss")
    func downloadWithoutDedup() throws {
        var link = LossyLink(random: TestRandom(seed: 42), lossPercent: 30)
        var server = SimulatedServer()
        let body = BlockTest.body(10_000)
        server.stored["/x"] = body
        var mid: UInt16 = 1
        let got = try Self.download(path: ["x"], link: &link, server: &server, peer: "c", dedup: false, nextMID: &mid)
        #expect(got.payloadBytes == body)
        #expect(link.dropped > 10)
    }

    @Test("uploads from two peers interleaved over a lossy link stay separate")
    func interleavedPeers() throws {
        var link = LossyLink(random: TestRandom(seed: 9), lossPercent: 20)
        var server = SimulatedServer()
        var mid: UInt16 = 1
        let a = BlockTest.body(5000, seed: 1)
        let b = BlockTest.body(7000, seed: 2)
        var ua = try CoAPBlock1Upload(request: BlockTest.put(["same"], body: a), blockSize: 512)
        var ub = try CoAPBlock1Upload(request: BlockTest.put(["same"], body: b), blockSize: 256)
        var ra: CoAPMessage? = ua.currentRequest
        var rb: CoAPMessage? = ub.currentRequest
        var results: [String: [UInt8]] = [:]
        while ra != nil || rb != nil {
            if let req = ra {
                let resp = try Self.exchange(req, link: &link, server: &server, peer: "A", dedup: true, nextMID: &mid)
                switch try ua.handle(resp) {
                case .request(let n): ra = n
                case .complete(let f): ra = nil; #expect(f.code == .changed); results["A"] = server.stored["/same"]
                case .ignore: break
                }
            }
            if let req = rb {
                let resp = try Self.exchange(req, link: &link, server: &server, peer: "B", dedup: true, nextMID: &mid)
                switch try ub.handle(resp) {
                case .request(let n): rb = n
                case .complete(let f): rb = nil; #expect(f.code == .changed); results["B"] = server.stored["/same"]
                case .ignore: break
                }
            }
        }
        #expect(results["A"] == a)
        #expect(results["B"] == b)
    }
}
