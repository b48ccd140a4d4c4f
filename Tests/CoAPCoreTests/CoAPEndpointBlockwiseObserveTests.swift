@testable import CoAPCore
import LwM2MTestPKI
import NIOCore
import Synchronization
import Testing

@Suite("Endpoint block-wise and observe on the simulated network")
struct CoAPEndpointBlockwiseObserveTests {
    struct Pair {
        let clock = CoAPVirtualClock()
        let network: CoAPSimulatedNetwork
        let client: CoAPEndpoint
        let server: CoAPEndpoint

        init(conditions: CoAPSimulatedNetwork.Conditions = .perfect, configuration: CoAPEndpoint.Configuration = .init()) {
            network = CoAPSimulatedNetwork(clock: clock, conditions: conditions, seed: 5)
            var c = configuration
            c.seed = 11
            client = CoAPEndpoint(transport: network.makeTransport(), configuration: c, clock: clock)
            c.seed = 12
            server = CoAPEndpoint(transport: network.makeTransport(), configuration: c, clock: clock)
        }

        func close() async {
            await client.close()
            await server.close()
        }
    }

    static func body(_ count: Int, seed: Int = 0) -> ByteBuffer {
        ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ seed &+ $0 >> 9) })
    }

    static func storeHandler(_ store: BodyStore) -> CoAPResponder {
        { request in
            let key = request.message.uriPathString
            switch request.method {
            case .put:
                store.set(key, request.message.payload)
                return .response(.changed)
            case .get:
                guard let body = store[key] else { throw CoAPError.notFound() }
                return .response(.content, payload: body, contentFormat: .octetStream)
            default:
                throw CoAPError.methodNotAllowed()
            }
        }
    }

    @Test("a 64 KiB PUT goes up in Block1 blocks and comes back whole through Block2, with 10% loss")
    func blockwiseRoundTripWithLoss() async throws {
        // 130 exchanges at 10% loss each way: 8 retransmissions keep a give-up (0.19^9 per exchange) out of reach.
        var configuration = CoAPEndpoint.Configuration()
        configuration.messageLayer.parameters.maxRetransmit = 8
        let pair = Pair(conditions: .init(lossRate: 0.1), configuration: configuration)
        let store = BodyStore()
        await pair.server.register("/files", matchesSubpaths: true, handler: Self.storeHandler(store))
        let server = pair.server.localAddress
        let client = pair.client
        let body = Self.body(64 * 1024 + 100)
        let (put, get) = try await driving(pair.clock, step: .milliseconds(250)) {
            let put = try await client.request(.request(.put, path: "/files/fw", payload: body), to: server)
            let get = try await client.request(.request(.get, path: "/files/fw"), to: server)
            return (put, get)
        }
        #expect(put.code == .changed)
        #expect(try put.block1()?.more == false)
        #expect(store["/files/fw"] == body)
        #expect(get.code == .content)
        #expect(get.payload == body)
        #expect(try get.block2() == nil)
        #expect(get.contentFormat == .octetStream)
        #expect(pair.network.statistics.dropped > 0)
        let counts = pair.server.blockwiseServer.counts
        #expect(counts.uploads == 0)
        #expect(counts.representations == 0)
        await pair.close()
    }

    @Test("a large POST with a large answer: Block1 up, then Block2 down on the same request (RFC 7959 3.3)")
    func blockwiseBothWaysOnOnePost() async throws {
        let pair = Pair(configuration: .init(blockwise: .init(blockSize: 128)))
        await pair.server.register("/echo") { request in
            var doubled = request.message.payload
            doubled.writeImmutableBuffer(request.message.payload)
            return .response(.changed, payload: doubled, contentFormat: .octetStream)
        }
        let server = pair.server.localAddress
        let client = pair.client
        let body = Self.body(5000, seed: 3)
        let response = try await driving(pair.clock) {
            try await client.request(.request(.post, path: "/echo", payload: body, contentFormat: .octetStream), to: server)
        }
        var expected = body
        expected.writeImmutableBuffer(body)
        #expect(response.code == .changed)
        #expect(response.payload == expected)
        #expect(try response.block2() == nil)
        #expect(try response.block1()?.more == false)
    }

    @Test("an abandoned upload and an unfinished download expire on the server's timer, with no further request")
    func abandonedTransfersExpire() async throws {
        let pair = Pair(configuration: .init(blockwise: .init(blockSize: 64, transferLifetime: .seconds(30))))
        let store = BodyStore()
        store.set("/f", Self.body(1000))
        await pair.server.register("/f", handler: Self.storeHandler(store))
        let server = pair.server.localAddress
        let client = pair.client
        let serverEndpoint = pair.server
        var firstUpload = CoAPMessage.request(.put, path: "/f", payload: Self.body(64))
        firstUpload.setBlock1(try CoAPBlockOption(number: 0, more: true, size: 64))
        let block0 = firstUpload
        let (continued, firstBlock) = try await driving(pair.clock) {
            let continued = try await client.singleRequest(block0, to: server)
            let firstBlock = try await client.singleRequest(.request(.get, path: "/f"), to: server)
            return (continued, firstBlock)
        }
        #expect(continued.code == .continue)
        #expect(try firstBlock.block2()?.more == true)
        #expect(serverEndpoint.blockwiseServer.counts.uploads == 1)
        #expect(serverEndpoint.blockwiseServer.counts.representations == 1)
        pair.clock.advance(by: .seconds(31))
        let drained = try await withTimeout(seconds: 5) {
            while serverEndpoint.blockwiseServer.counts.uploads + serverEndpoint.blockwiseServer.counts.representations > 0 {
                try await Task.sleep(nanoseconds: 1_000_000)
            }
            return true
        }
        #expect(drained)
        await pair.close()
    }

    @Test("the server's smaller block size and maximum body size apply to uploads")
    func serverLimits() async throws {
        let pair = Pair(configuration: .init(blockwise: .init(blockSize: 256, maxRequestBodySize: 4096)))
        let store = BodyStore()
        await pair.server.register("/f", handler: Self.storeHandler(store))
        let server = pair.server.localAddress
        let client = pair.client
        let (ok, tooLarge) = try await driving(pair.clock) {
            let ok = try await client.request(.request(.put, path: "/f", payload: Self.body(4096)), to: server)
            let tooLarge = try await client.request(.request(.put, path: "/f", payload: Self.body(4097)), to: server)
            return (ok, tooLarge)
        }
        #expect(ok.code == .changed)
        #expect(try ok.block1() == CoAPBlockOption(number: 15, more: false, size: 256))
        #expect(tooLarge.code == .requestEntityTooLarge)
        #expect(tooLarge.size1 == 4096)
        #expect(store["/f"] == Self.body(4096))
    }

    @Test("observe: registration, ordered notifications, then active cancel removes the observer")
    func observeActiveCancel() async throws {
        let pair = Pair()
        let value = Mutex(0)
        await pair.server.register("/counter") { _ in .response(.content, text: "\(value.withLock { $0 })") }
        let server = pair.server.localAddress
        let client = pair.client
        let serverEndpoint = pair.server
        let (texts, observes, cancelResponse, remaining) = try await driving(pair.clock) {
            let observation = await client.observe(.request(.get, path: "/counter"), to: server)
            var texts: [String] = []
            var observes: [UInt32] = []
            for try await notification in observation {
                texts.append(String(buffer: notification.payload))
                observes.append(try #require(notification.observe))
                if texts.count == 4 { break }
                value.withLock { $0 += 1 }
                await serverEndpoint.notifyObservers(of: "/counter")
            }
            let cancelResponse = try await observation.cancel()
            return (texts, observes, cancelResponse, await serverEndpoint.observerCount(of: "/counter"))
        }
        #expect(texts == ["0", "1", "2", "3"])
        #expect(zip(observes, observes.dropFirst()).allSatisfy { $0 < $1 })
        #expect(cancelResponse?.code == .content)
        #expect(cancelResponse?.observe == nil)
        #expect(remaining == 0)
    }

    @Test("observe: passive cancel; the next notification is rejected with RST and the observer removed")
    func observePassiveCancel() async throws {
        let pair = Pair()
        await pair.server.register("/p") { _ in .response(.content, text: "x") }
        let server = pair.server.localAddress
        let client = pair.client
        let serverEndpoint = pair.server
        let counts = try await driving(pair.clock) {
            let observation = await client.observe(.request(.get, path: "/p"), to: server)
            var iterator = observation.makeAsyncIterator()
            _ = try await iterator.next()
            let before = await serverEndpoint.observerCount(of: "/p")
            await observation.cancelPassively()
            await serverEndpoint.notifyObservers(of: "/p")
            // The NON notification is rejected with RST within its NSTART slot (ACK_TIMEOUT).
            var after = before
            for _ in 0..<100 where after > 0 {
                try await pair.clock.sleep(until: pair.clock.now + .milliseconds(100))
                after = await serverEndpoint.observerCount(of: "/p")
            }
            return (before, after)
        }
        #expect(counts.0 == 1)
        #expect(counts.1 == 0)
    }

    @Test("a notification larger than a block arrives whole; the client fetches the rest with Block2")
    func largeNotification() async throws {
        let pair = Pair(configuration: .init(blockwise: .init(blockSize: 64)))
        let version = Mutex(0)
        await pair.server.register("/big") { _ in
            .response(.content, payload: Self.body(300, seed: version.withLock { $0 }))
        }
        let server = pair.server.localAddress
        let client = pair.client
        let serverEndpoint = pair.server
        let bodies = try await driving(pair.clock) {
            let observation = await client.observe(.request(.get, path: "/big"), to: server)
            var bodies: [ByteBuffer] = []
            for try await notification in observation {
                bodies.append(notification.payload)
                #expect(try notification.block2() == nil)
                #expect(notification.observe != nil)
                if bodies.count == 2 { break }
                version.withLock { $0 = 1 }
                await serverEndpoint.notifyObservers(of: "/big", confirmable: true)
            }
            return bodies
        }
        #expect(bodies == [Self.body(300, seed: 0), Self.body(300, seed: 1)])
    }

    @Test("a handler error ends the observation on both sides")
    func errorEndsObservation() async throws {
        let pair = Pair()
        let exists = Mutex(true)
        await pair.server.register("/gone") { _ in
            guard exists.withLock({ $0 }) else { throw CoAPError.notFound() }
            return .response(.content, text: "here")
        }
        let server = pair.server.localAddress
        let client = pair.client
        let serverEndpoint = pair.server
        let (codes, remaining) = try await driving(pair.clock) {
            let observation = await client.observe(.request(.get, path: "/gone"), to: server)
            var codes: [CoAPCode] = []
            for try await notification in observation {
                codes.append(notification.code)
                exists.withLock { $0 = false }
                await serverEndpoint.notifyObservers(of: "/gone")
            }
            return (codes, await serverEndpoint.observerCount(of: "/gone"))
        }
        #expect(codes == [.content, .notFound])
        #expect(remaining == 0)
    }
}

/// Bodies stored by test resource handlers, by path.
final class BodyStore: Sendable {
    private let bodies = Mutex<[String: ByteBuffer]>([:])

    func set(_ key: String, _ body: ByteBuffer) { bodies.withLock { $0[key] = body } }

    subscript(_ key: String) -> ByteBuffer? { bodies.withLock { $0[key] } }
}
