import CoAPCore
import LwM2MModel
import NIOCore
import Testing

@testable import ServerKit

@Suite("Registration interface")
struct RegistrationStateMachineTests {
    @Test("Register answers 2.01 with Location-Path rd/<id> in a piggybacked ACK and records the client")
    func registerMinimal() throws {
        var m = machine()
        let out = m.handle(
            request(.post, ["rd"], query: ["ep=dev1", "lt=60"], payload: "</1/0>,</3/0>", mid: 77), from: address(),
            now: t0)
        let response = try #require(out.response)
        #expect(response.code == .created)
        #expect(response.type == .acknowledgement)
        #expect(response.messageID == 77)
        #expect(response.token == CoAPToken(value: 0xA1B2, length: 2))
        #expect(response.locationPath.count == 2)
        #expect(response.locationPath[0] == "rd")
        let r = try #require(out.registered)
        #expect(response.locationPath[1] == r.id)
        #expect(r.id.count == 10)
        #expect(r.endpoint == "dev1")
        #expect(r.lifetime == 60)
        #expect(r.version == .v1_0)
        #expect(r.binding == .udp)
        #expect(!r.queueMode)
        #expect(r.objects == [RegisteredObject(id: 1, instances: [0]), RegisteredObject(id: 3, instances: [0])])
        #expect(r.expiresAt == t0 + .seconds(75))
        #expect(m.registrations.registration(endpoint: "dev1")?.id == r.id)
        #expect(m.registrations.registration(address: address())?.id == r.id)
        #expect(m.nextExpiry == t0 + .seconds(75))
        // On the wire: the response encodes with both Location-Path segments.
        let wire = response.encoded()
        let decoded = try CoAPMessage(decoding: wire)
        #expect(decoded.locationPath == ["rd", r.id])
    }

    @Test("A 1.1 registration carries version, queue mode, SMS, ct, object versions; the format policy uses them")
    func registerFull() throws {
        var m = machine()
        let payload = #"</>;rt="oma.lwm2m";ct="60 110 112 11543",</1>;ver=1.1,</1/0>,</3/0>,</5>,</3442/0>,</3442/2>"#
        let out = m.handle(
            request(.post, ["rd"], query: ["ep=urn:imei:35", "lt=300", "lwm2m=1.1", "b=U", "Q", "sms=+4912345"],
                payload: payload),
            from: address(), now: t0)
        #expect(out.code == .created)
        let r = try #require(out.registered)
        #expect(r.version == .v1_1)
        #expect(r.queueMode)
        #expect(r.smsNumber == "+4912345")
        #expect(r.supportedContentFormats.map(\.rawValue) == [60, 110, 112, 11543])
        #expect(r.objectVersion(1) == "1.1")
        #expect(r.objectVersion(3) == nil)
        #expect(r.object(5) == RegisteredObject(id: 5, instances: []))
        #expect(r.object(3442)?.instances == [0, 2])
        #expect(ContentFormatPolicy.standard.choose(r, .read, .instance(3, 0)) == .senmlCBOR)
        #expect(ContentFormatPolicy.standard.choose(r, .composite, .root) == .senmlCBOR)
        var r10 = r
        r10.version = .v1_0
        #expect(ContentFormatPolicy.standard.choose(r10, .read, .instance(3, 0)) == .lwm2mTLV)
        var r11 = r
        r11.supportedContentFormats = [.lwm2mTLV, .lwm2mJSON]
        #expect(ContentFormatPolicy.standard.choose(r11, .write, .instance(3, 0)) == .lwm2mTLV)
        r11.supportedContentFormats = [.senmlJSON]
        #expect(ContentFormatPolicy.standard.choose(r11, .write, .instance(3, 0)) == .senmlJSON)
    }

    @Test("LwM2M 1.0 writes queue mode into the binding (UQ)")
    func bindingQueue() throws {
        var m = machine()
        let out = m.handle(request(.post, ["rd"], query: ["ep=a", "b=UQS"], payload: "</3/0>"), from: address(), now: t0)
        let r = try #require(out.registered)
        #expect(r.binding == [.udp, .sms])
        #expect(r.queueMode)
        #expect(r.lifetime == 86400)
    }

    @Test("An alternate root path is honoured for object links and request paths")
    func alternatePath() throws {
        var m = machine()
        let out = m.handle(
            request(.post, ["rd"], query: ["ep=a"], payload: #"</lwm2m>;rt="oma.lwm2m",</lwm2m/3/0>,</lwm2m/4/0>"#),
            from: address(), now: t0)
        let r = try #require(out.registered)
        #expect(r.rootPath == "/lwm2m")
        #expect(r.objects.map(\.id) == [3, 4])
        #expect(r.uriPath(for: .resource(3, 0, 9)) == ["lwm2m", "3", "0", "9"])
        // Non-LwM2M links at the plain root are ignored, not errors.
        let out2 = m.handle(
            request(.post, ["rd"], query: ["ep=b"], payload: "</.well-known/core>,</3/0>"), from: address(port: 2),
            now: t0)
        #expect(out2.registered?.objects.map(\.id) == [3])
    }

    @Test(
        "Bad Register requests get 4.00, 4.12 or 4.15 and change nothing",
        arguments: [
            ([String](), "</3/0>", CoAPContentFormat.linkFormat, CoAPCode.badRequest),
            (["lt=60"], "</3/0>", .linkFormat, .badRequest),
            (["ep="], "</3/0>", .linkFormat, .badRequest),
            (["ep=a", "lt=abc"], "</3/0>", .linkFormat, .badRequest),
            (["ep=a", "lt=0"], "</3/0>", .linkFormat, .badRequest),
            (["ep=a", "lt=99999999999"], "</3/0>", .linkFormat, .badRequest),
            (["ep=a", "lt=4294967295"], "</3/0>", .linkFormat, .badRequest),
            (["ep=a", "b=X"], "</3/0>", .linkFormat, .badRequest),
            (["ep=a", "b=QU"], "</3/0>", .linkFormat, .badRequest),
            (["ep=a", "ep=b"], "</3/0>", .linkFormat, .badRequest),
            (["ep=a", "Q=1"], "</3/0>", .linkFormat, .badRequest),
            (["ep=a", "lwm2m=abc"], "</3/0>", .linkFormat, .badRequest),
            (["ep=a", "lwm2m=1.9"], "</3/0>", .linkFormat, .preconditionFailed),
            (["ep=a", "lwm2m=2.0"], "</3/0>", .linkFormat, .preconditionFailed),
            (["ep=a"], "</3/0", .linkFormat, .badRequest),
            (["ep=a"], "</3/0>;ver", .linkFormat, .badRequest),
            (["ep=a"], "</3/0>;ver=x.y", .linkFormat, .badRequest),
            (["ep=a"], "</3/0/1/2>", .linkFormat, .badRequest),
            (["ep=a"], #"</a>;rt="oma.lwm2m",</a/x>"#, .linkFormat, .badRequest),
            (["ep=a"], #"</>;rt="oma.lwm2m";ct=abc,</3/0>"#, .linkFormat, .badRequest),
            (["ep=a"], "</3/0> </4/0>", .linkFormat, .badRequest),
            (["ep=a"], "</3/0>", .json, .unsupportedContentFormat),
        ])
    func badRegister(query: [String], payload: String, format: CoAPContentFormat, expected: CoAPCode) {
        let logs = CapturedLogs()
        var m = machine(logs: logs)
        let out = m.handle(
            request(.post, ["rd"], query: query, payload: payload, contentFormat: format), from: address(), now: t0)
        #expect(out.code == expected)
        #expect(out.events.isEmpty)
        #expect(m.registrations.count == 0)
        #expect(m.nextExpiry == nil)
        #expect(logs.all.contains { $0.hasPrefix("info Register rejected") })
    }

    @Test("An endpoint name with control characters or over the length limit is refused")
    func badEndpointNames() {
        var m = machine { $0.maxEndpointNameLength = 16 }
        #expect(m.handle(request(.post, ["rd"], query: ["ep=a\u{1}b"], payload: "</3/0>"), from: address(), now: t0).code == .badRequest)
        #expect(
            m.handle(request(.post, ["rd"], query: ["ep=" + String(repeating: "x", count: 17)], payload: "</3/0>"),
                from: address(), now: t0).code == .badRequest)
        #expect(
            m.handle(request(.post, ["rd"], query: ["ep=" + String(repeating: "x", count: 16)], payload: "</3/0>"),
                from: address(), now: t0).code == .created)
    }

    @Test("Update changes lifetime, binding, objects and address, and moves the expiry")
    func update() throws {
        var m = machine()
        let r = try #require(
            m.handle(request(.post, ["rd"], query: ["ep=dev1", "lt=60"], payload: "</3/0>"), from: address(), now: t0)
                .registered)
        let t1 = t0 + .seconds(30)
        let out = m.handle(
            request(.post, ["rd", r.id], query: ["lt=120", "b=UQ"], payload: "</3/0>,</5/0>", mid: 2),
            from: address("10.0.0.2", port: 5000), now: t1)
        #expect(out.code == .changed)
        #expect(out.response?.type == .acknowledgement)
        #expect(out.response?.messageID == 2)
        guard case .updated(let u) = try #require(out.events.first) else {
            Issue.record("expected an updated event")
            return
        }
        #expect(u.previous.lifetime == 60)
        #expect(u.current.lifetime == 120)
        #expect(u.current.queueMode)
        #expect(u.current.objects.map(\.id) == [3, 5])
        #expect(u.current.expiresAt == t1 + .seconds(135))
        #expect(m.nextExpiry == t1 + .seconds(135))
        #expect(m.registrations.registration(address: address("10.0.0.2", port: 5000))?.id == r.id)
        #expect(m.registrations.registration(address: address()) == nil)
        // An empty Update keeps everything but refreshes the expiry.
        let t2 = t1 + .seconds(100)
        let out2 = m.handle(request(.post, ["rd", r.id], contentFormat: nil, mid: 3), from: address("10.0.0.2", port: 5000), now: t2)
        #expect(out2.code == .changed)
        let current = try #require(m.registrations.registration(id: r.id))
        #expect(current.objects.map(\.id) == [3, 5])
        #expect(current.lifetime == 120)
        #expect(current.queueMode)
        #expect(current.expiresAt == t2 + .seconds(135))
    }

    @Test("Update of an unknown registration is 4.04; a bad Update is 4.00 and leaves the registration intact")
    func badUpdate() throws {
        var m = machine()
        let r = try #require(
            m.handle(request(.post, ["rd"], query: ["ep=dev1", "lt=60"], payload: "</3/0>"), from: address(), now: t0)
                .registered)
        #expect(m.handle(request(.post, ["rd", "nope"], query: ["lt=60"]), from: address(), now: t0).code == .notFound)
        #expect(m.handle(request(.post, ["rd", r.id], query: ["lt=-1"]), from: address(), now: t0).code == .badRequest)
        #expect(m.handle(request(.post, ["rd", r.id], payload: "<3/0"), from: address(), now: t0).code == .badRequest)
        #expect(m.registrations.registration(id: r.id) == r)
        #expect(m.nextExpiry == r.expiresAt)
    }

    @Test("De-register answers 2.02, forgets the client and its observations; again is 4.04")
    func deregister() throws {
        var m = machine()
        let r = try #require(
            m.handle(request(.post, ["rd"], query: ["ep=dev1"], payload: "</3/0>"), from: address(), now: t0).registered)
        let observation = Observation(
            token: CoAPToken(value: 9, length: 4), registrationID: r.id, endpoint: "dev1", target: .path(.resource(3, 0, 9)),
            createdAt: t0)
        m.observations.add(observation)
        let out = m.handle(request(.delete, ["rd", r.id], contentFormat: nil), from: address(), now: t0)
        #expect(out.code == .deleted)
        #expect(out.cancelledObservations == [observation])
        guard case .deregistered(let gone) = try #require(out.events.first) else {
            Issue.record("expected deregistered")
            return
        }
        #expect(gone.id == r.id)
        #expect(m.registrations.count == 0)
        #expect(m.registrations.registration(endpoint: "dev1") == nil)
        #expect(m.registrations.registration(address: address()) == nil)
        #expect(m.observations.count == 0)
        #expect(m.nextExpiry == nil)
        #expect(m.handle(request(.delete, ["rd", r.id], contentFormat: nil), from: address(), now: t0).code == .notFound)
    }

    @Test("Registering an endpoint again replaces the old registration and cancels its observations")
    func reRegister() throws {
        var m = machine()
        let first = try #require(
            m.handle(request(.post, ["rd"], query: ["ep=dev1", "lt=60"], payload: "</3/0>"), from: address(), now: t0)
                .registered)
        let other = try #require(
            m.handle(request(.post, ["rd"], query: ["ep=dev2"], payload: "</3/0>"), from: address(port: 2), now: t0)
                .registered)
        let o1 = Observation(
            token: CoAPToken(value: 1, length: 2), registrationID: first.id, endpoint: "dev1", target: .path(.object(3)),
            createdAt: t0)
        let o2 = Observation(
            token: CoAPToken(value: 2, length: 2), registrationID: other.id, endpoint: "dev2", target: .path(.object(3)),
            createdAt: t0)
        m.observations.add(o1)
        m.observations.add(o2)
        let out = m.handle(
            request(.post, ["rd"], query: ["ep=dev1", "lt=600"], payload: "</3/0>,</4/0>"), from: address(port: 3),
            now: t0 + .seconds(5))
        #expect(out.code == .created)
        guard case .registered(let second, let replaced) = try #require(out.events.first) else {
            Issue.record("expected registered")
            return
        }
        #expect(replaced?.id == first.id)
        #expect(second.id != first.id)
        #expect(out.cancelledObservations == [o1])
        #expect(m.registrations.registration(id: first.id) == nil)
        #expect(m.registrations.registration(endpoint: "dev1")?.id == second.id)
        #expect(m.registrations.count == 2)
        #expect(m.observations.observations(registrationID: other.id) == [o2])
        // The old registration's timer is gone: only dev2 (86400 s) and the new dev1 (600 s) remain.
        #expect(m.nextExpiry == t0 + .seconds(5 + 600 + 15))
        // An Update on the old registration ID is now 4.04.
        #expect(m.handle(request(.post, ["rd", first.id]), from: address(), now: t0).code == .notFound)
    }

    @Test("Registrations expire after lifetime plus grace on the given clock; an Update postpones it")
    func expiry() throws {
        let logs = CapturedLogs()
        var m = machine({ $0.expiryGrace = .seconds(5) }, logs: logs)
        let a = try #require(
            m.handle(request(.post, ["rd"], query: ["ep=a", "lt=60"], payload: "</3/0>"), from: address(port: 1), now: t0)
                .registered)
        let b = try #require(
            m.handle(request(.post, ["rd"], query: ["ep=b", "lt=30"], payload: "</3/0>"), from: address(port: 2), now: t0)
                .registered)
        m.observations.add(
            Observation(
                token: CoAPToken(value: 5, length: 1), registrationID: b.id, endpoint: "b", target: .path(.object(3)),
                createdAt: t0))
        #expect(m.nextExpiry == t0 + .seconds(35))
        #expect(m.expire(now: t0 + .seconds(34)).events.isEmpty)
        let out = m.expire(now: t0 + .seconds(35))
        #expect(out.events.count == 1)
        guard case .expired(let gone) = try #require(out.events.first) else {
            Issue.record("expected expired")
            return
        }
        #expect(gone.id == b.id)
        #expect(out.cancelledObservations.count == 1)
        #expect(logs.all.contains("info Registration expired"))
        // a updates at +50 with its 60 s lifetime: it now expires at +115, not +65.
        #expect(m.handle(request(.post, ["rd", a.id]), from: address(port: 1), now: t0 + .seconds(50)).code == .changed)
        #expect(m.expire(now: t0 + .seconds(100)).events.isEmpty)
        #expect(m.registrations.count == 1)
        let out2 = m.expire(now: t0 + .seconds(115))
        #expect(out2.events.count == 1)
        #expect(m.registrations.count == 0)
        #expect(m.nextExpiry == nil)
    }

    @Test("A flood of Register requests from one address is refused with 5.03 and logged; a full server too")
    func floods() throws {
        let logs = CapturedLogs()
        var m = machine({
            $0.registerRateLimit = 3
            $0.registerRateWindow = .seconds(1)
            $0.maxRegistrations = 4
        }, logs: logs)
        for k in 0..<3 {
            #expect(
                m.handle(request(.post, ["rd"], query: ["ep=f\(k)"], payload: "</3/0>"), from: address(port: 10 + k), now: t0)
                    .code == .created)
        }
        let refused = m.handle(request(.post, ["rd"], query: ["ep=f3"], payload: "</3/0>"), from: address(port: 20), now: t0)
        #expect(refused.code == .serviceUnavailable)
        #expect(refused.response?.maxAge == 1)
        #expect(logs.all.contains("info Register rejected: rate limit"))
        // Another address is not affected; a new window is open again.
        #expect(
            m.handle(request(.post, ["rd"], query: ["ep=g"], payload: "</3/0>"), from: address("10.0.0.9", port: 1), now: t0).code
                == .created)
        let later = t0 + .seconds(2)
        let full = m.handle(request(.post, ["rd"], query: ["ep=h"], payload: "</3/0>"), from: address(port: 30), now: later)
        #expect(full.code == .serviceUnavailable)
        #expect(logs.all.contains("info Register rejected: server full"))
        // Re-registering a known endpoint is still possible when full.
        #expect(
            m.handle(request(.post, ["rd"], query: ["ep=f0"], payload: "</3/0>"), from: address(port: 31), now: later).code
                == .created)
        #expect(m.registrations.count == 4)
    }

    @Test("Wrong methods and paths get 4.05 and 4.04; a NON request gets a NON response")
    func routing() {
        var m = machine()
        #expect(m.handle(request(.get, ["rd"]), from: address(), now: t0).code == .methodNotAllowed)
        #expect(m.handle(request(.put, ["rd", "x"]), from: address(), now: t0).code == .methodNotAllowed)
        #expect(m.handle(request(.post, ["rd", "x", "y"]), from: address(), now: t0).code == .notFound)
        #expect(m.handle(request(.post, ["other"]), from: address(), now: t0).code == .notFound)
        let non = m.handle(
            request(.post, ["rd"], query: ["ep=n"], payload: "</3/0>", type: .nonConfirmable, mid: 9), from: address(),
            now: t0)
        #expect(non.response?.type == .nonConfirmable)
        #expect(non.code == .created)
    }

    @Test("Send from a registered client is decoded and delivered as an event")
    func send() throws {
        var m = machine {
            $0.sendDecoder = { format, payload in
                #expect(format == .senmlJSON)
                #expect(payload.getString(at: payload.readerIndex, length: payload.readableBytes) == "x")
                return [LwM2MRecord(path: .resource(3, 0, 9), value: .integer(42), timestamp: 10)]
            }
        }
        #expect(
            m.handle(request(.post, ["dp"], payload: "x", contentFormat: .senmlJSON), from: address(), now: t0).code
                == .forbidden)
        let r = try #require(
            m.handle(request(.post, ["rd"], query: ["ep=s", "lwm2m=1.1"], payload: "</3/0>"), from: address(), now: t0)
                .registered)
        let out = m.handle(request(.post, ["dp"], payload: "x", contentFormat: .senmlJSON), from: address(), now: t0)
        #expect(out.code == .changed)
        guard case .send(let report) = try #require(out.events.first) else {
            Issue.record("expected send")
            return
        }
        #expect(report.registrationID == r.id)
        #expect(report.records == [LwM2MRecord(path: .resource(3, 0, 9), value: .integer(42), timestamp: 10)])
        #expect(
            m.handle(request(.post, ["dp"], payload: "x", contentFormat: .textPlain), from: address(), now: t0).code
                == .unsupportedContentFormat)
    }
}
