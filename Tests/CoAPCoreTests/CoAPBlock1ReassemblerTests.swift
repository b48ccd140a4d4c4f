import CoAPCore
import NIOCore
import Testing

@Suite("Block1 reassembly on the server (RFC 7959 section 2.3)")
struct CoAPBlock1ReassemblerTests {
    typealias Reassembler = CoAPBlock1Reassembler<String>
    let t0 = BlockTest.t0

    @Test("blocks in order get 2.31 Continue with Block1 echo, the last completes with the whole body")
    func inOrder() throws {
        var r = Reassembler()
        let body = BlockTest.body(100)
        let c0 = r.receive(
            BlockTest.block1Put(["f"], number: 0, more: true, size: 32, payload: Array(body[0..<32]), mid: 1),
            from: "a", now: t0)
        let reply0 = try #require(c0.response)
        #expect(reply0.code == .continue)
        #expect(reply0.type == .acknowledgement)
        #expect(reply0.messageID == 1)
        #expect(try reply0.block1() == CoAPBlockOption(number: 0, more: true, size: 32))
        #expect(r.count == 1)
        for n in 1...2 {
            let reply = try #require(r.receive(
                BlockTest.block1Put(["f"], number: UInt32(n), more: true, size: 32,
                    payload: Array(body[n * 32..<(n + 1) * 32]), mid: UInt16(1 + n)), from: "a", now: t0).response)
            #expect(reply.code == .continue)
            #expect(try reply.block1()?.number == UInt32(n))
        }
        let done = try #require(r.receive(
            BlockTest.block1Put(["f"], number: 3, more: false, size: 32, payload: Array(body[96...]), mid: 4),
            from: "a", now: t0).completed)
        #expect(done.request.payloadBytes == body)
        #expect(try done.request.block1() == nil)
        #expect(done.request.uriPath == ["f"])
        #expect(done.request.messageID == 4)
        #expect(done.block1 == (try CoAPBlockOption(number: 3, more: false, size: 32)))
        #expect(r.count == 0)
    }

    @Test("a request without Block1 passes through; a single final block 0 completes at once")
    func passThrough() throws {
        var r = Reassembler()
        let v1 = r.receive(BlockTest.put(["f"], body: [1, 2, 3]), from: "a", now: t0)
        #expect(v1.isPassThrough)
        let single = try #require(r.receive(
            BlockTest.block1Put(["f"], number: 0, more: false, size: 64, payload: [9, 8], mid: 2), from: "a",
            now: t0).completed)
        #expect(single.request.payloadBytes == [9, 8])
        #expect(r.count == 0)
    }

    @Test("a gap answers 4.08 and drops the transfer")
    func gap() throws {
        var r = Reassembler()
        let b = BlockTest.body(64)
        _ = r.receive(BlockTest.block1Put(["f"], number: 0, more: true, size: 16, payload: Array(b[0..<16]), mid: 1), from: "a", now: t0)
        let reply = try #require(r.receive(
            BlockTest.block1Put(["f"], number: 2, more: true, size: 16, payload: Array(b[32..<48]), mid: 2),
            from: "a", now: t0).response)
        #expect(reply.code == .requestEntityIncomplete)
        #expect(r.count == 0)
        // The transfer is gone, so the next block is 4.08 too.
        let after = try #require(r.receive(
            BlockTest.block1Put(["f"], number: 1, more: true, size: 16, payload: Array(b[16..<32]), mid: 3),
            from: "a", now: t0).response)
        #expect(after.code == .requestEntityIncomplete)
    }

    @Test("a block continuing no transfer (unknown peer, other path, other format) answers 4.08")
    func mismatch() throws {
        var r = Reassembler()
        let b = BlockTest.body(32)
        _ = r.receive(BlockTest.block1Put(["f"], number: 0, more: true, size: 16, payload: Array(b[0..<16]), mid: 1), from: "a", now: t0)
        let otherPeer = r.receive(
            BlockTest.block1Put(["f"], number: 1, more: false, size: 16, payload: Array(b[16...]), mid: 2), from: "b", now: t0)
        #expect(otherPeer.response?.code == .requestEntityIncomplete)
        let otherPath = r.receive(
            BlockTest.block1Put(["g"], number: 1, more: false, size: 16, payload: Array(b[16...]), mid: 3), from: "a", now: t0)
        #expect(otherPath.response?.code == .requestEntityIncomplete)
        var otherFormat = BlockTest.block1Put(["f"], number: 1, more: false, size: 16, payload: Array(b[16...]), mid: 4)
        otherFormat.contentFormat = .textPlain
        let v2 = r.receive(otherFormat, from: "a", now: t0)
        #expect(v2.response?.code == .requestEntityIncomplete)
        // The original transfer is untouched and still completes.
        let done = r.receive(
            BlockTest.block1Put(["f"], number: 1, more: false, size: 16, payload: Array(b[16...]), mid: 5), from: "a", now: t0)
        #expect(done.completed?.request.payloadBytes == b)
    }

    @Test("two peers upload to the same path concurrently without mixing")
    func concurrentPeers() throws {
        var r = Reassembler()
        let a = BlockTest.body(48, seed: 1)
        let b = BlockTest.body(48, seed: 2)
        for n in 0..<3 {
            let more = n < 2
            let ra = r.receive(BlockTest.block1Put(["f"], number: UInt32(n), more: more, size: 16,
                payload: Array(a[n * 16..<(n + 1) * 16]), mid: UInt16(n)), from: "a", now: t0)
            let rb = r.receive(BlockTest.block1Put(["f"], number: UInt32(n), more: more, size: 16,
                payload: Array(b[n * 16..<(n + 1) * 16]), mid: UInt16(n)), from: "b", now: t0)
            if more {
                #expect(ra.response?.code == .continue)
                #expect(rb.response?.code == .continue)
            } else {
                #expect(ra.completed?.request.payloadBytes == a)
                #expect(rb.completed?.request.payloadBytes == b)
            }
        }
    }

    @Test("past the maximum body size: 4.13 with Size1, from Size1 up front or while collecting")
    func tooLarge() throws {
        var r = Reassembler(configuration: .init(maxBodySize: 40))
        var announced = BlockTest.block1Put(["f"], number: 0, more: true, size: 16, payload: BlockTest.body(16), mid: 1)
        announced.size1 = 41
        let v3 = r.receive(announced, from: "a", now: t0)
        let early = try #require(v3.response)
        #expect(early.code == .requestEntityTooLarge)
        #expect(early.size1 == 40)
        #expect(r.count == 0)

        let b = BlockTest.body(48)
        let v4 = r.receive(BlockTest.block1Put(["f"], number: 0, more: true, size: 16, payload: Array(b[0..<16]), mid: 2), from: "a", now: t0)
        #expect(v4.response?.code == .continue)
        let v5 = r.receive(BlockTest.block1Put(["f"], number: 1, more: true, size: 16, payload: Array(b[16..<32]), mid: 3), from: "a", now: t0)
        #expect(v5.response?.code == .continue)
        let late = try #require(r.receive(
            BlockTest.block1Put(["f"], number: 2, more: false, size: 16, payload: Array(b[32...]), mid: 4), from: "a", now: t0).response)
        #expect(late.code == .requestEntityTooLarge)
        #expect(late.size1 == 40)
        #expect(r.count == 0)

        // Also without Block1: a plain request over the limit.
        let v6 = r.receive(BlockTest.put(["f"], body: BlockTest.body(41)), from: "a", now: t0)
        let plain = try #require(v6.response)
        #expect(plain.code == .requestEntityTooLarge)
        #expect(plain.size1 == 40)
    }

    @Test("a non-final block whose payload is not the block size answers 4.00; SZX 7 answers 4.00")
    func badSizes() throws {
        var r = Reassembler()
        let short = r.receive(BlockTest.block1Put(["f"], number: 0, more: true, size: 32, payload: BlockTest.body(20), mid: 1), from: "a", now: t0)
        #expect(short.response?.code == .badRequest)
        var reserved = BlockTest.put(["f"], body: BlockTest.body(16))
        reserved.setOption(.block1, CoAPOption(number: .block1, bytes: [0x0F]))
        let v7 = r.receive(reserved, from: "a", now: t0)
        #expect(v7.response?.code == .badRequest)
        #expect(r.count == 0)
    }

    @Test("the server asks for smaller blocks; the client's adjusted block numbers line up")
    func sizeNegotiation() throws {
        var r = Reassembler(configuration: .init(preferredBlockSize: 64))
        let b = BlockTest.body(300)
        let first = try #require(r.receive(
            BlockTest.block1Put(["f"], number: 0, more: true, size: 256, payload: Array(b[0..<256]), mid: 1),
            from: "a", now: t0).response)
        #expect(first.code == .continue)
        #expect(try first.block1() == CoAPBlockOption(number: 0, more: true, size: 64))
        // 256 bytes in, at 64 bytes the next block is number 4.
        let done = try #require(r.receive(
            BlockTest.block1Put(["f"], number: 4, more: false, size: 64, payload: Array(b[256...]), mid: 2),
            from: "a", now: t0).completed)
        #expect(done.request.payloadBytes == b)
    }

    @Test("the same block again (new message ID) is answered again without appending twice")
    func repeatedBlock() throws {
        var r = Reassembler()
        let b = BlockTest.body(40)
        _ = r.receive(BlockTest.block1Put(["f"], number: 0, more: true, size: 16, payload: Array(b[0..<16]), mid: 1), from: "a", now: t0)
        let again = r.receive(BlockTest.block1Put(["f"], number: 0, more: true, size: 16, payload: Array(b[0..<16]), mid: 2), from: "a", now: t0)
        #expect(again.response?.code == .continue)
        _ = r.receive(BlockTest.block1Put(["f"], number: 1, more: true, size: 16, payload: Array(b[16..<32]), mid: 3), from: "a", now: t0)
        let again1 = r.receive(BlockTest.block1Put(["f"], number: 1, more: true, size: 16, payload: Array(b[16..<32]), mid: 4), from: "a", now: t0)
        #expect(again1.response?.code == .continue)
        #expect(try again1.response?.block1()?.number == 1)
        let done = r.receive(BlockTest.block1Put(["f"], number: 2, more: false, size: 16, payload: Array(b[32...]), mid: 5), from: "a", now: t0)
        #expect(done.completed?.request.payloadBytes == b)
    }

    @Test("stale transfers expire after the lifetime; touching a transfer extends it")
    func expiry() throws {
        var r = Reassembler(configuration: .init(transferLifetime: .seconds(10)))
        let b = BlockTest.body(64)
        _ = r.receive(BlockTest.block1Put(["x"], number: 0, more: true, size: 16, payload: Array(b[0..<16]), mid: 1), from: "a", now: t0)
        _ = r.receive(BlockTest.block1Put(["y"], number: 0, more: true, size: 16, payload: Array(b[0..<16]), mid: 2), from: "a", now: t0 + .seconds(2))
        #expect(r.nextExpiry == t0 + .seconds(10))
        // Touch x at 8 s: it now lives until 18 s.
        _ = r.receive(BlockTest.block1Put(["x"], number: 1, more: true, size: 16, payload: Array(b[16..<32]), mid: 3), from: "a", now: t0 + .seconds(8))
        let v8 = r.expire(now: t0 + .seconds(9))
        #expect(v8 == 0)
        let v9 = r.expire(now: t0 + .seconds(12))
        #expect(v9 == 1)  // y (10 s after 2 s)
        #expect(r.count == 1)
        #expect(r.nextExpiry == t0 + .seconds(18))
        let v10 = r.receive(BlockTest.block1Put(["y"], number: 1, more: true, size: 16, payload: Array(b[16..<32]), mid: 4), from: "a", now: t0 + .seconds(12))
        #expect(v10.response?.code == .requestEntityIncomplete)
        let v11 = r.expire(now: t0 + .seconds(18))
        #expect(v11 == 1)
        #expect(r.count == 0)
        #expect(r.nextExpiry == nil)
        let v12 = r.receive(BlockTest.block1Put(["x"], number: 2, more: true, size: 16, payload: Array(b[32..<48]), mid: 5), from: "a", now: t0 + .seconds(19))
        #expect(v12.response?.code == .requestEntityIncomplete)
    }

    @Test("many transfers expire in deadline order with one heap entry each")
    func manyExpire() throws {
        var r = Reassembler(configuration: .init(transferLifetime: .seconds(100)))
        for k in 0..<1000 {
            _ = r.receive(BlockTest.block1Put(["f", "\(k)"], number: 0, more: true, size: 16, payload: BlockTest.body(16), mid: UInt16(k)),
                from: "p", now: t0 + .milliseconds(Int64(k)))
        }
        #expect(r.count == 1000)
        let v13 = r.expire(now: t0 + .seconds(100) + .milliseconds(499))
        #expect(v13 == 500)
        #expect(r.count == 500)
        let v14 = r.expire(now: t0 + .seconds(200))
        #expect(v14 == 500)
        #expect(r.count == 0)
    }

    @Test("a restarted transfer (block 0 again after progress) starts over")
    func restart() throws {
        var r = Reassembler()
        let b = BlockTest.body(32, seed: 5)
        _ = r.receive(BlockTest.block1Put(["f"], number: 0, more: true, size: 16, payload: BlockTest.body(16), mid: 1), from: "a", now: t0)
        _ = r.receive(BlockTest.block1Put(["f"], number: 1, more: true, size: 16, payload: BlockTest.body(16), mid: 2), from: "a", now: t0)
        _ = r.receive(BlockTest.block1Put(["f"], number: 0, more: true, size: 16, payload: Array(b[0..<16]), mid: 3), from: "a", now: t0)
        let done = r.receive(BlockTest.block1Put(["f"], number: 1, more: false, size: 16, payload: Array(b[16...]), mid: 4), from: "a", now: t0)
        #expect(done.completed?.request.payloadBytes == b)
    }
}
