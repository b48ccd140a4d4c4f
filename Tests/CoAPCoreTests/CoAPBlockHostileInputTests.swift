import CoAPCore
import NIOCore
import Testing

/// Random and malformed block-wise input from a hostile peer: nothing traps, state stays bounded, and every
/// answer is a well-formed response with a sensible code.
@Suite("Block-wise components under hostile input")
struct CoAPBlockHostileInputTests {
    static func randomBlockOption(_ number: CoAPOptionNumber, _ random: inout TestRandom) -> CoAPOption {
        let length = Int(random.next() % 5)  // 0...4 bytes; 4 is invalid
        return CoAPOption(number: number, bytes: (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) })
    }

    static func randomRequest(_ random: inout TestRandom, code: CoAPCode) -> CoAPMessage {
        var m = CoAPMessage(
            type: random.next() % 2 == 0 ? .confirmable : .nonConfirmable, code: code,
            messageID: UInt16(truncatingIfNeeded: random.next()), token: CoAPToken(value: random.next(), length: 4),
            payload: ByteBuffer(bytes: [UInt8](repeating: 1, count: Int(random.next() % 1100))))
        m.uriPath = ["r\(random.next() % 3)"]
        if random.next() % 4 != 0 { m.addOption(randomBlockOption(.block1, &random)) }
        if random.next() % 4 != 0 { m.addOption(randomBlockOption(.block2, &random)) }
        if random.next() % 3 == 0 { m.size1 = UInt32(truncatingIfNeeded: random.next()) }
        if random.next() % 3 == 0 { m.size2 = 0 }
        return m
    }

    @Test("random Block1/Block2/Size1 requests to the server components")
    func serverSide() {
        var random = TestRandom(seed: 77)
        var reassembler = CoAPBlock1Reassembler<Int>(configuration: .init(maxBodySize: 8192, maxTransfers: 50))
        var responder = CoAPBlock2Responder<Int>(configuration: .init(preferredBlockSize: 64, maxCachedRepresentations: 50))
        var now = BlockTest.t0
        let allowed: Set<CoAPCode> = [.continue, .badRequest, .badOption, .requestEntityIncomplete,
                                      .requestEntityTooLarge, .serviceUnavailable, .content]
        for _ in 0..<1500 {
            now = now + .milliseconds(Int64(random.next() % 1000))
            let peer = Int(random.next() % 4)
            let put = Self.randomRequest(&random, code: .put)
            switch reassembler.receive(put, from: peer, now: now) {
            case .respond(let reply):
                #expect(allowed.contains(reply.code))
                #expect(reply.token == put.token)
                #expect((try? CoAPMessage(decoding: reply.encoded())) == reply)
            case .complete(let whole, _):
                #expect(whole.payload.readableBytes <= 8192)
            case .passThrough:
                #expect(put.option(.block1) == nil)
            }
            let get = Self.randomRequest(&random, code: .get)
            let answer = responder.cachedResponse(for: get, from: peer, now: now)
                ?? responder.response(
                    BlockTest.content(for: get, body: [UInt8](repeating: 2, count: Int(random.next() % 3000))),
                    for: get, to: peer, now: now)
            #expect(allowed.contains(answer.code))
            if answer.code == .content, let block = try? answer.block2() {
                #expect(block.size <= 64)
                #expect(answer.payload.readableBytes <= block.size)
            }
            reassembler.expire(now: now)
            responder.expire(now: now)
            #expect(reassembler.count <= 50)
            #expect(responder.count <= 50)
        }
    }

    @Test("random responses to the client sequencers end in a step or a typed error, never a trap")
    func clientSide() throws {
        var random = TestRandom(seed: 78)
        for _ in 0..<100 {
            var download = CoAPBlock2Download(request: BlockTest.get(["x"]), maxBodySize: 4096)
            var upload = try CoAPBlock1Upload(request: BlockTest.put(["x"], body: BlockTest.body(3000)), blockSize: 256)
            for _ in 0..<20 {
                var response = BlockTest.content(for: BlockTest.get(["x"]), body: BlockTest.body(Int(random.next() % 1100)))
                response.code = [CoAPCode.content, .changed, .continue, .requestEntityTooLarge, .notFound][Int(random.next() % 5)]
                if random.next() % 4 != 0 { response.addOption(Self.randomBlockOption(.block2, &random)) }
                if random.next() % 4 != 0 { response.addOption(Self.randomBlockOption(.block1, &random)) }
                if random.next() % 3 == 0 { response.eTag = [UInt8(random.next() % 3)] }
                if random.next() % 3 == 0 { response.size1 = UInt32(random.next() % 5000) }
                if let step = try? download.handle(response), case .request(let next) = step {
                    #expect(try next.block2()?.more == false)
                }
                if let step = try? upload.handle(response), case .request(let next) = step {
                    let block = try #require(try next.block1())
                    #expect(next.payload.readableBytes <= block.size)
                }
            }
        }
    }
}
