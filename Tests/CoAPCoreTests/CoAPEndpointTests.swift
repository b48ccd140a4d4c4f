@testable import CoAPCore
import LwM2MTestPKI
import NIOCore
import Synchronization
import Testing

@Suite("CoAP endpoint on the simulated network")
struct CoAPEndpointTests {
    struct Pair {
        let clock = CoAPVirtualClock()
        let network: CoAPSimulatedNetwork
        let client: CoAPEndpoint
        let server: CoAPEndpoint

        init(conditions: CoAPSimulatedNetwork.Conditions = .perfect, configuration: CoAPEndpoint.Configuration = .init()) {
            network = CoAPSimulatedNetwork(clock: clock, conditions: conditions, seed: 9)
            var c = configuration
            c.seed = 1
            client = CoAPEndpoint(transport: network.makeTransport(), configuration: c, clock: clock)
            c.seed = 2
            server = CoAPEndpoint(transport: network.makeTransport(), configuration: c, clock: clock)
        }

        func close() async {
            await client.close()
            await server.close()
        }
    }

    @Test("GET, PUT, POST and DELETE reach their handlers and the responses come back")
    func methods() async throws {
        let pair = Pair()
        let store = Mutex<[String: String]>([:])
        await pair.server.register("/store", matchesSubpaths: true) { request in
            let key = request.path.dropFirst().joined(separator: "/")
            switch request.method {
            case .get:
                guard let value = store.withLock({ $0[key] }) else { throw CoAPError.notFound("no \(key)") }
                return .response(.content, text: value)
            case .put, .post:
                store.withLock { $0[key] = String(buffer: request.message.payload) }
                return .response(request.method == .put ? .changed : .created)
            case .delete:
                store.withLock { _ = $0.removeValue(forKey: key) }
                return .response(.deleted)
            default:
                throw CoAPError.methodNotAllowed()
            }
        }
        let server = pair.server.localAddress
        let client = pair.client
        try await withTimeout {
            #expect(try await client.request(.request(.put, path: "/store/a", payload: ByteBuffer(string: "1")), to: server).code == .changed)
            #expect(try await client.request(.request(.post, path: "/store/b", payload: ByteBuffer(string: "2")), to: server).code == .created)
            let a = try await client.request(.request(.get, path: "/store/a"), to: server)
            #expect(a.code == .content && String(buffer: a.payload) == "1" && a.contentFormat == .textPlain)
            #expect(try await client.request(.request(.delete, path: "/store/a"), to: server).code == .deleted)
            let gone = try await client.request(.request(.get, path: "/store/a"), to: server)
            #expect(gone.code == .notFound && String(buffer: gone.payload) == "no a")
            let nope = try await client.request(.request(.get, path: "/nothing/here"), to: server)
            #expect(nope.code == .notFound)
            let non = try await client.request(.request(.get, path: "/store/b", confirmable: false), to: server)
            #expect(non.type == .nonConfirmable && String(buffer: non.payload) == "2")
            #expect(try await client.request(.request(.fetch, path: "/store/b"), to: server).code == .methodNotAllowed)
        }
        await pair.close()
    }

    @Test("/.well-known/core lists discoverable resources with attributes and filters by query")
    func discovery() async throws {
        let pair = Pair()
        await pair.server.register("/sensors/temp", attributes: [.init("rt", "temperature-c"), .init("if", "sensor"), .init("obs")]) { _ in
            .response(.content, text: "21")
        }
        await pair.server.register("/sensors/light", attributes: [.init("rt", "light-lux"), .init("ct", "0")]) { _ in
            .response(.content, text: "5")
        }
        await pair.server.register(CoAPResource(path: ["hidden"], isDiscoverable: false) { _ in .response(.content) })
        let server = pair.server.localAddress
        let client = pair.client
        try await withTimeout {
            let all = try await client.request(.request(.get, path: "/.well-known/core"), to: server)
            #expect(all.contentFormat == .linkFormat)
            #expect(String(buffer: all.payload)
                == "</sensors/light>;rt=\"light-lux\";ct=0,</sensors/temp>;rt=\"temperature-c\";if=\"sensor\";obs")
            let filtered = try await client.request(.request(.get, path: "/.well-known/core", query: ["rt=temp*"]), to: server)
            #expect(String(buffer: filtered.payload) == "</sensors/temp>;rt=\"temperature-c\";if=\"sensor\";obs")
            let byHref = try await client.request(.request(.get, path: "/.well-known/core", query: ["href=/sensors/l*"]), to: server)
            #expect(String(buffer: byHref.payload) == "</sensors/light>;rt=\"light-lux\";ct=0")
        }
        await pair.close()
    }

    @Test("a handler that throws an untyped error answers 5.00 without leaking the error")
    func untypedError() async throws {
        struct Secret: Error {}
        let pair = Pair()
        await pair.server.register("/boom") { _ in throw Secret() }
        let server = pair.server.localAddress
        let client = pair.client
        let response = try await withTimeout { try await client.request(.request(.get, path: "/boom"), to: server) }
        #expect(response.code == .internalServerError && response.payload.readableBytes == 0)
        await pair.close()
    }

    @Test("middleware runs before the handlers and can answer or change the request")
    func middleware() async throws {
        struct Gate: CoAPServerMiddleware {
            func respond(to request: CoAPIncomingRequest, next: CoAPResponder) async throws -> CoAPMessage {
                if request.message.uriQuery.contains("deny") { throw CoAPError.forbidden() }
                var response = try await next(request)
                response.addOption(CoAPOption(number: .maxAge, uint: 30))
                return response
            }
        }
        let pair = Pair()
        await pair.server.addMiddleware(Gate())
        await pair.server.register("/x") { _ in .response(.content, text: "ok") }
        let server = pair.server.localAddress
        let client = pair.client
        try await withTimeout {
            let denied = try await client.request(.request(.get, path: "/x", query: ["deny"]), to: server)
            #expect(denied.code == .forbidden)
            let allowed = try await client.request(.request(.get, path: "/x"), to: server)
            #expect(allowed.maxAge == 30)
        }
        await pair.close()
    }

    @Test("a slow handler gets a separate response on virtual time")
    func slowHandlerSeparateResponse() async throws {
        let pair = Pair()
        let clock = pair.clock
        await pair.server.register("/slow") { _ in
            try await clock.sleep(until: clock.now + .seconds(5))
            return .response(.content, text: "done")
        }
        let server = pair.server.localAddress
        let client = pair.client
        let start = clock.now
        let response = try await driving(clock) { try await client.request(.request(.get, path: "/slow"), to: server) }
        #expect(String(buffer: response.payload) == "done" && response.type == .confirmable)
        #expect(clock.now - start >= .seconds(5))
        await pair.close()
    }

    @Test("no answer: the request fails with transmissionTimeout after MAX_TRANSMIT_WAIT of virtual time")
    func giveUp() async throws {
        let pair = Pair()
        let nobody = testAddress(99)
        let client = pair.client
        let clock = pair.clock
        let start = clock.now
        // Jump the clock from one pending deadline to the next, and only after the endpoint has re-armed its
        // timer: fixed steps could run virtual time ahead of a busy endpoint and stretch the retransmissions,
        // or run on past the give-up before the failed request is seen.
        let request = Task { try await client.request(.request(.get, path: "/x"), to: nobody) }
        let done = Mutex(false)
        let watcher = Task {
            _ = try? await request.value
            done.withLock { $0 = true }
        }
        let realLimit = ContinuousClock.now + .seconds(60)
        while !done.withLock({ $0 }) && ContinuousClock.now < realLimit {
            // Never past MAX_TRANSMIT_WAIT (93 s with the largest jitter): a later give-up times out the wait.
            if let next = clock.nextDeadline, next <= start + .seconds(93) {
                clock.advance(to: next)
                while !done.withLock({ $0 }) && ContinuousClock.now < realLimit
                        && (clock.nextDeadline.map { $0 <= next } ?? true) {
                    await Task.yield()
                }
            } else {
                await Task.yield()
            }
        }
        if !done.withLock({ $0 }) { request.cancel() }
        _ = await watcher.value
        await #expect(throws: CoAPExchangeError.transmissionTimeout("")) { try await request.value }
        let elapsed = clock.now - start
        #expect(elapsed >= .seconds(62) && elapsed <= .seconds(94))
        // Per-request timeout.
        await #expect(throws: CoAPExchangeError.responseTimeout("")) {
            try await driving(clock) { try await client.request(.request(.get, path: "/x"), to: nobody, timeout: .seconds(5)) }
        }
        await pair.close()
    }

    @Test("cancelling the calling task fails the request with .cancelled")
    func cancellation() async throws {
        let pair = Pair()
        let client = pair.client
        let nobody = testAddress(99)
        let task = Task { try await client.request(.request(.get, path: "/x"), to: nobody) }
        task.cancel()
        await #expect(throws: CoAPExchangeError.cancelled("")) { try await withTimeout { try await task.value } }
        await pair.close()
    }

    @Test("close fails pending requests with .closed and later calls too")
    func close() async throws {
        let pair = Pair()
        let client = pair.client
        let nobody = testAddress(99)
        let task = Task { try await client.request(.request(.get, path: "/x"), to: nobody) }
        // Wait (without sleeping) until the request is on the wire.
        try await withTimeout { while pair.network.statistics.sent == 0 { await Task.yield() } }
        await client.close()
        await #expect(throws: CoAPExchangeError.closed("")) { try await withTimeout { try await task.value } }
        await #expect(throws: CoAPExchangeError.closed("")) { try await client.request(.request(.get, path: "/x"), to: nobody) }
        await pair.close()
    }

    @Test("graceful close lets a running handler answer and refuses new requests with 5.03")
    func gracefulClose() async throws {
        let pair = Pair()
        let (started, startedContinuation) = AsyncStream<Void>.makeStream()
        let (release, releaseContinuation) = AsyncStream<Void>.makeStream()
        await pair.server.register("/work") { _ in
            startedContinuation.yield()
            for await _ in release { break }
            return .response(.content, text: "finished")
        }
        await pair.server.register("/other") { _ in .response(.content) }
        let client = pair.client
        let server = pair.server
        let address = server.localAddress
        // A second client: NSTART = 1 would queue its request behind the first client's.
        let other = CoAPEndpoint(transport: pair.network.makeTransport(), clock: pair.clock)
        try await withTimeout {
            async let running = client.request(.request(.get, path: "/work"), to: address)
            var iterator = started.makeAsyncIterator()
            await iterator.next()
            let closing = Task { await server.close(gracefully: true) }
            // Wait until the server is draining: a new request is refused.
            var refused: CoAPMessage
            repeat {
                refused = try await other.request(.request(.get, path: "/other"), to: address)
            } while refused.code != .serviceUnavailable
            releaseContinuation.yield()
            let response = try await running
            #expect(String(buffer: response.payload) == "finished")
            await closing.value
        }
        await other.close()
        await pair.close()
    }

    @Test("ping and a CON notification with its ACK; a notification to a peer without context is reset")
    func pingAndSend() async throws {
        let pair = Pair()
        let client = pair.client
        let server = pair.server
        let serverAddress = server.localAddress
        try await withTimeout {
            try await client.ping(serverAddress)
            // The client has no request with this token, so it rejects the notification with RST.
            var notification = CoAPMessage.response(.content, text: "n")
            notification.token = CoAPToken([9, 9])!
            await #expect(throws: CoAPExchangeError.reset("")) { try await server.send(notification, to: client.localAddress) }
            // A NON notification returns at once; the RST reaches the reset handler.
            let rejected = AsyncStream<CoAPToken>.makeStream()
            await server.onNonConfirmableReset { _, token in rejected.continuation.yield(token) }
            notification.type = .nonConfirmable
            notification.token = CoAPToken([7, 7])!
            try await server.send(notification, to: client.localAddress)
            var tokens = rejected.stream.makeAsyncIterator()
            #expect(await tokens.next() == CoAPToken([7, 7])!)
        }
        await pair.close()
    }

    @Test("responses(for:to:) yields the first response and later notifications with the token")
    func keepOpenStream() async throws {
        let pair = Pair()
        let registered = Mutex<CoAPInboundExchange?>(nil)
        await pair.server.register("/obs") { request in
            registered.withLock { $0 = request.exchange }
            var response = CoAPMessage.response(.content, text: "0")
            response.observe = 0
            return response
        }
        let client = pair.client
        let server = pair.server
        let serverAddress = server.localAddress
        try await withTimeout {
            var request = CoAPMessage.request(.get, path: "/obs")
            request.observe = 0
            let stream = await client.responses(for: request, to: serverAddress)
            var iterator = stream.makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first?.observe != nil)  // the endpoint registers the observer and sets its own Observe value
            let exchange = try #require(registered.withLock { $0 })
            for k in 1...3 {
                var n = CoAPMessage.response(.content, text: "\(k)")
                n.token = exchange.token
                n.observe = UInt32(k)
                try await server.send(n, to: exchange.peer)
                let got = try await iterator.next()
                #expect(got.map { String(buffer: $0.payload) } == "\(k)")
            }
        }
        await pair.close()
    }

    @Test("lossy simulated network (20% loss, duplicates, reordering): every CON request completes")
    func lossyEndpoints() async throws {
        let conditions = CoAPSimulatedNetwork.Conditions(
            lossRate: 0.2, duplicateRate: 0.1, reorderRate: 0.2, reorderWindow: .milliseconds(800),
            latency: .milliseconds(10))
        // MAX_RETRANSMIT 8 (see CoAPLossyRunTests for why).
        let configuration = CoAPEndpoint.Configuration(messageLayer: .init(parameters: .init(maxRetransmit: 8)))
        let pair = Pair(conditions: conditions, configuration: configuration)
        let hits = Mutex(0)
        await pair.server.register("/echo") { request in
            hits.withLock { $0 += 1 }
            return .response(.changed, payload: request.message.payload)
        }
        let client = pair.client
        let server = pair.server.localAddress
        let results = try await driving(pair.clock) {
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for k in 0..<40 {
                    group.addTask {
                        let r = try await client.request(.request(.post, path: "/echo", payload: ByteBuffer(string: "m\(k)")), to: server)
                        return (k, String(buffer: r.payload))
                    }
                }
                var out: [Int: String] = [:]
                for try await (k, body) in group { out[k] = body }
                return out
            }
        }
        #expect(results.count == 40)
        #expect(results.allSatisfy { $0.value == "m\($0.key)" })
        #expect(hits.withLock { $0 } == 40, "duplicates never reach the handler twice")
        let stats = pair.network.statistics
        #expect(stats.dropped > 0 && stats.duplicated > 0 && stats.reordered > 0)
        await pair.close()
    }
}
