import LwM2MTestPKI
import CoAPCore
import LwM2MModel
import NIOCore
import Synchronization
import Testing

@testable import ServerKit

/// What the scripted client received.
final class Received: Sendable {
    let messages = Mutex<[CoAPMessage]>([])
    var all: [CoAPMessage] { messages.withLock { $0 } }
    func add(_ m: CoAPMessage) { messages.withLock { $0.append(m) } }
}

@Suite("LwM2M server on the simulated network")
struct LwM2MServerTests {
    @Test("Register, Update and De-register over CoAP produce events and the registration")
    func registrationLifecycle() async throws {
        let h = await ServerHarness()
        let id = try await h.register()
        try await h.waitForEvents(1)
        let r = try #require(await h.server.registration(endpoint: "dev1"))
        #expect(r.id == id)
        #expect(r.address == h.client.localAddress)
        #expect(r.objects.map(\.id) == [1, 3, 19])
        let update = try await h.client.request(.request(.post, path: "/rd/\(id)", query: ["lt=120"]), to: h.serverAddress)
        #expect(update.code == .changed)
        let gone = try await h.client.request(.request(.delete, path: "/rd/\(id)"), to: h.serverAddress)
        #expect(gone.code == .deleted)
        try await h.waitForEvents(3)
        #expect(h.log.names == ["registered", "updated", "deregistered"])
        #expect(await h.server.registration(endpoint: "dev1") == nil)
        let bad = try await h.client.request(.request(.post, path: "/rd", query: ["lt=60"]), to: h.serverAddress)
        #expect(bad.code == .badRequest)
        await h.close()
    }

    @Test("Read, Write, Execute, Write-Attributes, Create, Delete and Discover reach the client as specified")
    func deviceManagement() async throws {
        let h = await ServerHarness()
        let received = Received()
        await h.client.register("/3", matchesSubpaths: true) { request in
            received.add(request.message)
            switch (request.method, request.path) {
            case (.get, ["3", "0", "9"]) where request.message.accept == .linkFormat:
                return .response(.content, text: "</3/0/9>;pmin=10", contentFormat: .linkFormat)
            case (.get, ["3", "0", "9"]): return .response(.content, text: "/3/0/9=95", contentFormat: .senmlCBOR)
            case (.get, ["3", "0"]):
                return .response(.content, text: "/3/0/0=Acme\n/3/0/9=80\n/3/0/11/0=0", contentFormat: .senmlCBOR)
            case (.put, _), (.post, ["3", "0"]), (.post, ["3", "0", "4"]): return .response(.changed)
            default: throw CoAPError.notFound()
            }
        }
        await h.client.register("/19", matchesSubpaths: true) { request in
            received.add(request.message)
            switch request.method {
            case .post:
                var m = CoAPMessage.response(.created)
                m.locationPath = ["19", "3"]
                return m
            case .delete: return .response(.deleted)
            default: throw CoAPError.methodNotAllowed()
            }
        }
        _ = try await h.register()
        let server = h.server
        try await withTimeout {
            #expect(try await server.read(endpoint: "dev1", path: .resource(3, 0, 9)) == .resource(.single(9, .integer(95))))
            #expect(
                try await server.read(endpoint: "dev1", path: .instance(3, 0))
                    == .objectInstance(
                        LwM2MObjectInstance(
                            id: 0,
                            resources: [.single(0, .string("Acme")), .single(9, .integer(80)), .multiple(11, [0: .integer(0)])])))
            try await server.write(
                endpoint: "dev1", path: .resource(3, 0, 15), node: .resource(.single(15, .string("Europe/Kiev"))), mode: .replace)
            try await server.write(
                endpoint: "dev1", path: .instance(3, 0),
                node: .objectInstance(LwM2MObjectInstance(id: 0, resources: [.single(14, .string("+02"))])), mode: .partialUpdate)
            try await server.execute(endpoint: "dev1", path: .resource(3, 0, 4), arguments: "0='now'")
            try await server.writeAttributes(endpoint: "dev1", path: .resource(3, 0, 9), attributes: ["pmin=10", "pmax=60"])
            #expect(try await server.discover(endpoint: "dev1", path: .resource(3, 0, 9)) == "</3/0/9>;pmin=10")
            #expect(
                try await server.create(endpoint: "dev1", objectID: 19, instanceID: nil, resources: [.single(1, .integer(1))])
                    == .instance(19, 3))
            try await server.delete(endpoint: "dev1", path: .instance(19, 3))
            let error = await #expect(throws: LwM2MServerError.self) {
                try await server.read(endpoint: "dev1", path: .resource(3, 0, 99))
            }
            #expect(error?.coapCode == .notFound)
            #expect(error?.code == .errorResponse)
            await #expect(throws: LwM2MServerError.notRegistered("ghost")) {
                try await server.read(endpoint: "ghost", path: .resource(3, 0, 9))
            }
        }
        let wire = received.all.map { "\($0.code.name) \($0.uriPathString)" + ($0.uriQuery.isEmpty ? "" : "?" + $0.uriQuery.joined(separator: "&")) }
        #expect(
            wire == [
                "GET /3/0/9", "GET /3/0", "PUT /3/0/15", "POST /3/0", "POST /3/0/4", "PUT /3/0/9?pmin=10&pmax=60", "GET /3/0/9",
                "POST /19", "DELETE /19/3", "GET /3/0/99",
            ])
        let all = received.all
        // The 1.1 client declared no ct: TLV is the default format (Accept on reads, Content-Format on writes).
        #expect(all[0].accept == .lwm2mTLV)
        #expect(all[2].contentFormat == .lwm2mTLV)
        #expect(String(buffer: all[2].payload) == "/3/0/15=Europe/Kiev")
        #expect(String(buffer: all[4].payload) == "0='now'")
        #expect(all[6].accept == .linkFormat)
        #expect(String(buffer: all[7].payload) == "/19/0/1=1")
        await h.close()
    }

    @Test("A client that does not answer makes the request fail with a timeout")
    func timeout() async throws {
        let h = await ServerHarness { $0.requestTimeout = .seconds(5) }
        _ = try await h.register()
        await h.client.close()  // the client vanishes
        let server = h.server
        let error = try await driving(h.clock, step: .milliseconds(500)) { () async -> LwM2MServerError? in
            do {
                _ = try await server.read(endpoint: "dev1", path: .resource(3, 0, 9))
                return nil
            } catch { return error as? LwM2MServerError }
        }
        #expect(error?.code == .timeout)
        #expect(LwM2MCommandResult.failure(error!, endpoint: "dev1", method: "Read").result == "TIMEOUT")
        await h.server.close()
    }

    @Test("Observe delivers notifications as events and as an AsyncSequence; active cancel sends GET Observe=1")
    func observeActiveCancel() async throws {
        let h = await ServerHarness()
        let received = Received()
        await h.client.register("/3/0/9") { request in
            received.add(request.message)
            var m = CoAPMessage.response(.content, text: "/3/0/9=28", contentFormat: .senmlCBOR)
            if request.message.observe == 0 { m.observe = 1 }
            return m
        }
        _ = try await h.register()
        let (observation, initial) = try await h.server.observe(endpoint: "dev1", path: .resource(3, 0, 9))
        #expect(initial == .resource(.single(9, .integer(28))))
        #expect(await h.server.observations(endpoint: "dev1") == [observation])
        let stream = await h.server.notifications(of: observation)
        let first = received.all[0]
        #expect(first.observe == 0)
        // The client notifies twice with the Observe token.
        for (seq, value) in [(2, 27), (3, 26)] {
            var n = CoAPMessage(type: .confirmable, code: .content, messageID: 0, token: first.token)
            n.observe = UInt32(seq)
            n.contentFormat = .senmlCBOR
            n.payload = ByteBuffer(string: "/3/0/9=\(value)")
            try await h.client.send(n, to: h.serverAddress)
        }
        let values = try await withTimeout {
            var out: [LwM2MNotification] = []
            for await notification in stream {
                out.append(notification)
                if out.count == 2 { break }
            }
            return out
        }
        #expect(values.map(\.content) == [
            .node(.resource(3, 0, 9), .resource(.single(9, .integer(27)))),
            .node(.resource(3, 0, 9), .resource(.single(9, .integer(26)))),
        ])
        #expect(values.map(\.sequence) == [2, 3])
        try await h.waitForEvents(3)
        #expect(h.log.all[2].json.jsonText == #"{"event":"notification","endpoint":"dev1","path":"/3/0/9","value":26,"sequence":3}"#)
        #expect(try await h.server.cancelObservation(endpoint: "dev1", path: .resource(3, 0, 9), active: true) == 1)
        let cancel = received.all.last!
        #expect(cancel.observe == 1)
        #expect(cancel.token == first.token)
        #expect(cancel.code == .get)
        #expect(await h.server.observations(endpoint: "dev1").isEmpty)
        await h.close()
    }

    @Test("Passive cancel forgets the observation: the client's next notification is answered with RST")
    func observePassiveCancel() async throws {
        let h = await ServerHarness()
        let token = Mutex<CoAPToken?>(nil)
        await h.client.register("/3/0/9") { request in
            token.withLock { $0 = request.message.token }
            var m = CoAPMessage.response(.content, text: "/3/0/9=1")
            m.observe = 1
            return m
        }
        _ = try await h.register()
        _ = try await h.server.observe(endpoint: "dev1", path: .resource(3, 0, 9))
        #expect(try await h.server.cancelAllObservations(endpoint: "dev1") == 1)
        var n = CoAPMessage(type: .confirmable, code: .content, messageID: 0, token: token.withLock { $0 }!)
        n.observe = 2
        n.payload = ByteBuffer(string: "/3/0/9=2")
        let error = await #expect(throws: CoAPExchangeError.self) { try await h.client.send(n, to: h.serverAddress) }
        #expect(error?.code == .reset)
        await h.close()
    }

    @Test("Registering again cancels the old registration's observations")
    func reRegisterCancelsObservations() async throws {
        let h = await ServerHarness()
        await h.client.register("/3/0/9") { _ in
            var m = CoAPMessage.response(.content, text: "/3/0/9=1")
            m.observe = 1
            return m
        }
        _ = try await h.register()
        let (observation, _) = try await h.server.observe(endpoint: "dev1", path: .resource(3, 0, 9))
        let stream = await h.server.notifications(of: observation)
        _ = try await h.register()
        var count = 0
        for await _ in stream { count += 1 }  // finishes because the observation ended
        #expect(count == 0)
        #expect(await h.server.observations(endpoint: "dev1").isEmpty)
        await h.close()
    }

    @Test("Queue mode holds requests for a sleeping client and sends them when it updates; TTL ends the wait")
    func queueMode() async throws {
        let h = await ServerHarness {
            $0.queue.awakeTime = .seconds(10)
            $0.queue.timeToLive = .seconds(60)
        }
        let received = Received()
        await h.client.register("/3/0/9") { request in
            received.add(request.message)
            return .response(.content, text: "/3/0/9=42")
        }
        let id = try await h.register(query: ["lt=300", "lwm2m=1.1", "Q"])
        h.clock.advance(by: .seconds(11))  // asleep now
        let server = h.server
        let read = Task { try await server.read(endpoint: "dev1", path: .resource(3, 0, 9)) }
        // Nothing goes out while the client sleeps, however long (less than the TTL) we wait.
        for _ in 0..<50 { await Task.yield() }
        h.clock.advance(by: .seconds(30))
        for _ in 0..<50 { await Task.yield() }
        #expect(received.all.isEmpty)
        let update = try await h.client.request(.request(.post, path: "/rd/\(id)"), to: h.serverAddress)
        #expect(update.code == .changed)
        #expect(try await withTimeout { try await read.value } == .resource(.single(9, .integer(42))))
        #expect(received.all.count == 1)
        // Asleep again: a request waits out its time-to-live and fails.
        h.clock.advance(by: .seconds(11))
        let error = try await driving(h.clock, step: .seconds(5)) { () async -> LwM2MServerError? in
            do {
                _ = try await server.read(endpoint: "dev1", path: .resource(3, 0, 9))
                return nil
            } catch { return error as? LwM2MServerError }
        }
        #expect(error?.code == .timeout)
        #expect(received.all.count == 1)
        await h.close()
    }

    @Test("A registration expires on the virtual clock and its event is emitted")
    func expiry() async throws {
        let h = await ServerHarness { $0.registration.expiryGrace = .seconds(2) }
        _ = try await h.register(query: ["lt=30"])
        try await h.waitForEvents(1)
        h.clock.advance(by: .seconds(31))
        for _ in 0..<20 { await Task.yield() }
        #expect(await h.server.registration(endpoint: "dev1") != nil)
        h.clock.advance(by: .seconds(1))
        try await h.waitForEvents(2)
        #expect(h.log.names == ["registered", "expired"])
        #expect(await h.server.registration(endpoint: "dev1") == nil)
        await h.close()
    }

    @Test("The command runner drives the real server: Read by key answers CONTENT with the value")
    func commandsOverServer() async throws {
        let h = await ServerHarness()
        await h.client.register("/3/0/9") { _ in .response(.content, text: "/3/0/9=95") }
        _ = try await h.register()
        let runner = LwM2MCommandRunner(operations: h.server, definitions: testRegistry)
        let result = await runner.run(endpoint: "dev1", method: "Read", params: #"{"key":"batteryLevel"}"#)
        #expect(result.json.jsonText == #"{"endpoint":"dev1","method":"Read","result":"CONTENT","value":95}"#)
        let missing = await runner.run(endpoint: "dev1", method: "Read", params: #"{"id":"/3/0/1"}"#)
        #expect(missing.result == "NOT_FOUND")
        await h.close()
    }
}
