import LwM2MTestPKI
import ClientKit
import CoAPCore
import LwM2MModel
import NIOCore
import Synchronization
import Testing

@Suite("Client on the simulated network")
struct ClientDeviceManagementTests {
    @Test("Register: POST /rd with the query and link-format payload, then Update and De-register")
    func registration() async throws {
        let f = try await ClientFixture(lifetime: 60)
        try await f.register()
        let register = f.server.messages[0]
        #expect(register.code == .post)
        #expect(register.uriPath == ["rd"])
        #expect(register.uriQuery == ["ep=dev1", "lt=60", "lwm2m=1.1", "b=U"])
        #expect(register.contentFormat == .linkFormat)
        #expect(String(buffer: register.payload) == "</1>;ver=1.1,</1/0>,</3>;ver=1.1,</3/0>,</3303/0>")
        #expect(await f.client.location == ["rd", "7"])
        // The Update goes out 10 s before the 60 s lifetime ends.
        try await f.waitFor(.registrationUpdateComplete)
        let update = f.server.messages[1]
        #expect(update.uriPath == ["rd", "7"])
        #expect(update.payload.readableBytes == 0)
        await f.client.stop()
        try await f.waitFor(.disconnect)
        #expect(f.server.messages.last?.code == .delete)
        #expect(f.server.messages.last?.uriPath == ["rd", "7"])
    }

    @Test("A 1.0 registration lists instances only and puts Q into the binding")
    func registration10() async throws {
        let f = try await ClientFixture(version: .v1_0, queueMode: true)
        try await f.register()
        let register = f.server.messages[0]
        #expect(register.uriQuery == ["ep=dev1", "lt=300", "lwm2m=1.0", "b=UQ"])
        #expect(String(buffer: register.payload) == "</1/0>,</3/0>,</3303/0>")
        try await f.waitFor(.queueModeRxOff)
    }

    @Test("Rejected registration: REGISTRATION_FAILURE, retried after the back-off")
    func rejected() async throws {
        let f = try await ClientFixture()
        f.server.state.registerCode.withLock { $0 = .forbidden }
        await f.client.start()
        try await f.waitFor(.registrationFailure)
        f.server.state.registerCode.withLock { $0 = .created }
        try await f.waitFor(.registrationComplete)
        #expect(f.server.messages.count == 2)
    }

    @Test("Read with content negotiation, and the DM error codes")
    func read() async throws {
        let f = try await ClientFixture()
        try await f.register()
        let text = try await f.request(.request(.get, path: "/3/0/0"))
        #expect(text.code == .content)
        #expect(text.contentFormat == .textPlain)
        #expect(String(buffer: text.payload) == "swift-lwm2m")
        var tlv = CoAPMessage.request(.get, path: "/3/0")
        tlv.accept = .lwm2mTLV
        let instance = try await f.request(tlv)
        #expect(instance.code == .content)
        #expect(instance.contentFormat == .lwm2mTLV)
        #expect(try await f.request(.request(.get, path: "/3/0/99")).code == .notFound)
        #expect(try await f.request(.request(.get, path: "/3/0/4")).code == .methodNotAllowed)
        var bad = CoAPMessage.request(.get, path: "/3/0/0")
        bad.accept = CoAPContentFormat(rawValue: 9999)
        #expect(try await f.request(bad).code == .notAcceptable)
        var multi = CoAPMessage.request(.get, path: "/3/0/6")
        multi.accept = .textPlain
        #expect(try await f.request(multi).code == .notAcceptable)
    }

    @Test("Write, Execute, Create, Delete and Write-Attributes over CoAP")
    func writeExecuteCreateDelete() async throws {
        let f = try await ClientFixture()
        try await f.register()
        let write = CoAPMessage.request(.put, path: "/3/0/14", payload: ByteBuffer(string: "+02:00"), contentFormat: .textPlain)
        #expect(try await f.request(write).code == .changed)
        #expect(f.tree.value(at: .resource(3, 0, 14)) == .string("+02:00"))
        let readOnly = CoAPMessage.request(.put, path: "/3/0/0", payload: ByteBuffer(string: "x"), contentFormat: .textPlain)
        #expect(try await f.request(readOnly).code == .methodNotAllowed)
        let badFormat = CoAPMessage.request(.put, path: "/3/0/14", payload: ByteBuffer(string: "x"),
                                            contentFormat: CoAPContentFormat(rawValue: 9999))
        #expect(try await f.request(badFormat).code == .unsupportedContentFormat)
        let badValue = CoAPMessage.request(.put, path: "/1/0/1", payload: ByteBuffer(string: "abc"), contentFormat: .textPlain)
        #expect(try await f.request(badValue).code == .badRequest)

        try LwM2MStandardObjects.reportDeviceError(3, in: f.tree)
        #expect(try await f.request(.request(.post, path: "/3/0/12")).code == .changed)
        #expect(try f.tree.read(.resource(3, 0, 11)) == .resource(.multiple(11, [0: .integer(0)])))
        #expect(try await f.request(.request(.post, path: "/3/0/0")).code == .methodNotAllowed)

        let created = try await f.request(.request(.post, path: "/3303"))
        #expect(created.code == .created)
        #expect(created.locationPath == ["3303", "1"])
        #expect(f.tree.instanceIDs(of: 3303) == [0, 1])
        #expect(try await f.request(.request(.delete, path: "/3303/1")).code == .deleted)
        #expect(try await f.request(.request(.delete, path: "/3303/1")).code == .notFound)

        #expect(try await f.request(.request(.put, path: "/3303/0/5700", query: ["pmin=5", "pmax=50"])).code == .changed)
        var discover = CoAPMessage.request(.get, path: "/3303/0")
        discover.accept = .linkFormat
        let links = try await f.request(discover)
        #expect(links.code == .content)
        #expect(String(buffer: links.payload).contains("</3303/0/5700>;pmin=5;pmax=50"))
        #expect(String(buffer: links.payload).contains("</3303/0/5605>"))
        #expect(try await f.request(.request(.put, path: "/3303/0/5700", query: ["bogus=1"])).code == .badRequest)
    }

    @Test("Observe: the first response, a notification on change, pmin holding back, pmax forcing")
    func observe() async throws {
        let f = try await ClientFixture()
        try await f.register()
        #expect(try await f.request(.request(.put, path: "/3303/0/5700", query: ["pmin=10", "pmax=60"])).code == .changed)
        var observe = CoAPMessage.request(.get, path: "/3303/0/5700")
        observe.observe = 0
        let stream = await f.server.endpoint.responses(for: observe, to: f.client.endpoint.localAddress)
        let box = NotificationBox()
        let clock = f.clock
        let reader = Task {
            for try await m in stream { box.items.withLock { $0.append((m, clock.now)) } }
        }
        defer { reader.cancel() }
        // Advances the virtual clock in steps up to `limit` (never past it), then keeps waiting (real time,
        // bounded) for the `n`th notification. Stopping the clock at the expected deadline means a loaded
        // machine cannot let virtual time run ahead while the client and the server are still reacting, so
        // the recorded times are exact; a notification that never comes by `limit` fails with a timeout.
        func waitCount(_ n: Int, advancingUpTo limit: NIODeadline) async throws {
            let realDeadline = ContinuousClock.now + .seconds(60)
            while box.items.withLock({ $0.count }) < n {
                guard ContinuousClock.now < realDeadline else {
                    Issue.record("notification \(n) did not arrive with the virtual clock at \(limit)")
                    throw TimeoutError()
                }
                for _ in 0..<20 { await Task.yield() }
                let now = clock.now
                if now < limit { clock.advance(to: min(now + .milliseconds(100), limit)) }
            }
        }
        // The first response needs no virtual time (the simulated network has no delay).
        let start = clock.now
        try await waitCount(1, advancingUpTo: start)
        let first = box.items.withLock { $0[0].0 }
        #expect(first.observe == 0)
        #expect(String(buffer: first.payload) == "20.0")
        #expect(await f.client.activeObservations.map(\.path) == [.resource(3303, 0, 5700)])
        try f.sensor.record(25)  // inside pmin: held back until 10 s after the first response
        try f.sensor.record(26)
        try await waitCount(2, advancingUpTo: start + .seconds(10))
        let (second, at2) = box.items.withLock { $0[1] }
        #expect(String(buffer: second.payload) == "26.0")
        #expect(at2 - start == .seconds(10))
        #expect(second.observe! > 0)
        // No change: pmax forces a notification 60 s after the last one.
        try await waitCount(3, advancingUpTo: at2 + .seconds(60))
        let (third, at3) = box.items.withLock { $0[2] }
        #expect(String(buffer: third.payload) == "26.0")
        #expect(at3 - at2 == .seconds(60))
    }

    @Test("Read-Composite (FETCH) and Write-Composite (iPATCH) with SenML JSON")
    func composite() async throws {
        let f = try await ClientFixture()
        try await f.register()
        var fetch = CoAPMessage.request(
            .fetch, path: "/", payload: ByteBuffer(string: #"[{"n":"/3/0/0"},{"n":"/3303/0/5700"},{"n":"/3/0/99"}]"#),
            contentFormat: .senmlJSON)
        fetch.accept = .senmlJSON
        let response = try await f.request(fetch)
        #expect(response.code == .content)
        let text = String(buffer: response.payload)
        #expect(text.contains("swift-lwm2m"))
        #expect(text.contains("5700"))
        #expect(!text.contains("/3/0/99"))
        let patch = CoAPMessage.request(
            .iPatch, path: "/", payload: ByteBuffer(string: #"[{"n":"/3/0/14","vs":"+03:00"},{"n":"/3/0/15","vs":"Asia/Tokyo"}]"#),
            contentFormat: .senmlJSON)
        #expect(try await f.request(patch).code == .changed)
        #expect(f.tree.value(at: .resource(3, 0, 14)) == .string("+03:00"))
        #expect(f.tree.value(at: .resource(3, 0, 15)) == .string("Asia/Tokyo"))
        let readOnly = CoAPMessage.request(
            .iPatch, path: "/", payload: ByteBuffer(string: #"[{"n":"/3/0/0","vs":"x"}]"#), contentFormat: .senmlJSON)
        #expect(try await f.request(readOnly).code == .methodNotAllowed)
    }

    @Test("Send: POST /dp with SenML CBOR of the chosen paths")
    func send() async throws {
        let f = try await ClientFixture()
        try await f.register()
        let client = f.client
        let code = try await driving(f.clock) { try await client.send(paths: [.resource(3303, 0, 5700), .resource(3, 0, 9)]) }
        #expect(code == .changed)
        let send = f.server.messages.last!
        #expect(send.uriPath == ["dp"])
        #expect(send.contentFormat == .senmlCBOR)
        #expect(send.payload.readableBytes > 0)
    }

    @Test("Execute /1/0/8 triggers an Update; /1/0/4 disables the server for /1/0/5 seconds")
    func serverObject() async throws {
        let f = try await ClientFixture()
        try await f.register()
        try f.tree.set(.resource(1, 0, 5), .integer(30))
        // The 15 s flood guard applies to triggered Updates.
        #expect(try await f.request(.request(.post, path: "/1/0/8")).code == .changed)
        try await f.waitFor(.registrationUpdateComplete)
        #expect(try await f.request(.request(.post, path: "/1/0/4")).code == .changed)
        try await f.waitFor(.serverDisabled)
        try await f.waitFor(.registrationComplete, count: 2)
        let kinds = f.server.messages.map { "\($0.code.name) \($0.uriPathString)" }
        #expect(kinds == ["POST /rd", "POST /rd/7", "DELETE /rd/7", "POST /rd"])
    }
}

final class NotificationBox: Sendable {
    let items = Mutex<[(CoAPMessage, NIODeadline)]>([])
}
