@testable import CoAPCore
import LwM2MTestPKI
import NIOCore
import Testing

@Suite("CoAP decoder and message layer fuzzing (seeded)")
struct CoAPFuzzTests {
    /// Valid seeds to mutate.
    static func corpus() -> [[UInt8]] {
        var register = CoAPMessage(type: .confirmable, code: .post, messageID: 0x1234, token: CoAPToken(value: 0x0102_0304))
        register.uriPath = ["rd"]
        register.uriQuery = ["ep=dev1", "lt=300", "lwm2m=1.1", "b=U"]
        register.contentFormat = .linkFormat
        register.payload = ByteBuffer(string: "</1/0>,</3/0>")
        var block = CoAPMessage(type: .acknowledgement, code: .content, messageID: 9, token: CoAPToken([0xCA, 0xFE])!)
        block.addOption(CoAPOption(number: .block2, uint: 0x1E))
        block.addOption(CoAPOption(number: .init(rawValue: 2000), bytes: [UInt8](repeating: 1, count: 300)))
        block.payload = ByteBuffer(repeating: 0xA5, count: 64)
        let ping = CoAPMessage(type: .confirmable, code: .empty, messageID: 3)
        return [register, block, ping].map { Array($0.encoded().readableBytesView) }
    }

    static func mutate(_ input: [UInt8], _ random: inout CoAPRandom) -> [UInt8] {
        var bytes = input
        for _ in 0...(random.next() % 4) {
            switch random.next() % 5 {
            case 0 where !bytes.isEmpty:
                bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            case 1 where !bytes.isEmpty:
                bytes[Int(random.next() % UInt64(bytes.count))] ^= 1 << (random.next() % 8)
            case 2 where !bytes.isEmpty:
                bytes.removeLast(Int(random.next() % UInt64(bytes.count)))
            case 3:
                bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: Int(random.next() % UInt64(bytes.count + 1)))
            default:
                bytes += (0..<(random.next() % 8)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            }
        }
        return bytes
    }

    static func inputs(count: Int, seed: UInt64) -> [[UInt8]] {
        var random = CoAPRandom(seed: seed)
        let corpus = corpus()
        return (0..<count).map { k in
            if k % 3 == 0 {
                let n = Int(random.next() % 64)
                var bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                if n > 0 && random.next() % 2 == 0 { bytes[0] = 0x40 | (bytes[0] & 0x3F) }  // mostly version 1
                return bytes
            }
            return mutate(corpus[k % corpus.count], &random)
        }
    }

    @Test("20,000 random and mutated datagrams: the decoder never traps, and what decodes round-trips")
    func decoder() throws {
        var decoded = 0
        for bytes in Self.inputs(count: 20_000, seed: 42) {
            guard let message = try? CoAPMessage(decoding: bytes) else { continue }
            decoded += 1
            let again = try CoAPMessage(decoding: message.encoded())
            #expect(again == message)
            #expect(Array(message.encoded().readableBytesView) == bytes, "decoding is exact: re-encoding gives the input")
        }
        #expect(decoded > 1000, "the corpus exercises the success path too")
    }

    @Test("20,000 hostile datagrams into a message layer: no trap, only well-formed requests reach the handler")
    func messageLayer() throws {
        var layer = CoAPMessageLayer(seed: 5)
        var now = t0
        var delivered = 0
        for (k, bytes) in Self.inputs(count: 20_000, seed: 43).enumerated() {
            now = now + .milliseconds(10)
            let peer = testAddress(1 + k % 50)
            let actions = layer.receive(ByteBuffer(bytes: bytes), from: peer, now: now)
            for (request, exchange) in actions.requests {
                delivered += 1
                #expect(request.code.isRequest && (request.type == .confirmable || request.type == .nonConfirmable))
                #expect(request.options.allSatisfy { $0.number.format != nil })
                _ = layer.respond(to: exchange, with: .response(.content), now: now)
            }
            for m in actions.sent { #expect(m.type == .acknowledgement || m.type == .reset || m.type == .nonConfirmable || m.type == .confirmable) }
            _ = layer.advance(to: now)
        }
        #expect(delivered > 100)
        _ = layer.advance(to: now + .seconds(300))
        #expect(layer.deduplicationCount == 0, "dedup state expires")
    }
}

@Suite("CoAP endpoint fuzzing (seeded)")
struct CoAPEndpointFuzzTests {
    @Test("5,000 hostile datagrams at an endpoint: it keeps serving, handlers see only well-formed requests")
    func endpoint() async throws {
        let clock = CoAPVirtualClock()
        let network = CoAPSimulatedNetwork(clock: clock)
        let server = CoAPEndpoint(transport: network.makeTransport(), configuration: .init(seed: 3), clock: clock)
        await server.register("/rd", matchesSubpaths: true) { request in
            #expect(request.method.isRequest)
            return .response(.created)
        }
        let attacker = network.makeTransport()
        for bytes in CoAPFuzzTests.inputs(count: 5_000, seed: 44) {
            attacker.send(CoAPDatagram(remote: server.localAddress, data: ByteBuffer(bytes: bytes)))
        }
        let client = CoAPEndpoint(transport: network.makeTransport(), configuration: .init(seed: 4), clock: clock)
        let serverAddress = server.localAddress
        let response = try await withTimeout {
            try await client.request(.request(.post, path: "/rd", query: ["ep=x"]), to: serverAddress)
        }
        #expect(response.code == .created)
        await client.close()
        await server.close()
        await attacker.close()
    }
}
