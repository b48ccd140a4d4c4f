import CoAPCore
import LwM2MModel
import NIOCore
import Testing

@testable import ServerKit

@Suite("Registration interface with a security store")
struct RegistrationSecurityTests {
    let logs = CapturedLogs()
    let store: LwM2MInMemorySecurityStore

    init() throws {
        store = try LwM2MInMemorySecurityStore([
            .psk(endpoint: "dev1", identity: "dev1-id", key: [1, 2, 3]),
            .psk(endpoint: "dev2", identity: "dev2-id", key: [4, 5, 6]),
            .certificate(endpoint: "dev3", commonName: "device-3"),
        ])
    }

    func securedMachine() -> Machine {
        machine({ $0.security = store }, logs: logs)
    }

    func register(_ m: inout Machine, _ endpoint: String, identity: CoAPPeerIdentity?, from peer: SocketAddress = address())
        -> RegistrationOutput
    {
        m.handle(
            request(.post, ["rd"], query: ["ep=\(endpoint)", "lt=60"], payload: "</1/0>,</3/0>"), from: peer,
            identity: identity, now: t0)
    }

    @Test("the endpoint's own PSK identity registers (2.01) and the registration records it")
    func ownPSK() throws {
        var m = securedMachine()
        let out = register(&m, "dev1", identity: .psk(identity: "dev1-id"))
        #expect(out.code == .created)
        let r = try #require(out.registered)
        #expect(r.identity == .psk(identity: "dev1-id"))
        let json = LwM2MServerEvent.registered(r, replaced: nil).json.jsonText
        #expect(json.contains(#""security":"psk","identity":"dev1-id""#))
    }

    @Test("endpoint A's identity registering endpoint B gets 4.03 and a log line naming peer, endpoint and identity")
    func otherEndpoint() {
        var m = securedMachine()
        let peer = address("10.0.0.9", port: 4242)
        let out = register(&m, "dev2", identity: .psk(identity: "dev1-id"), from: peer)
        #expect(out.code == .forbidden)
        #expect(out.events.isEmpty)
        #expect(m.registrations.registration(endpoint: "dev2") == nil)
        #expect(logs.all.contains {
            $0.hasPrefix("warning Register of dev2 from 10.0.0.9:4242 with psk:dev1-id rejected (4.03)")
                && $0.contains("PSK identity dev1-id does not belong to endpoint dev2")
        }, "\(logs.all)")
    }

    @Test("a secured endpoint over plain CoAP gets 4.03; an unknown one registers (NoSec default)")
    func noSec() throws {
        var m = securedMachine()
        #expect(register(&m, "dev1", identity: nil).code == .forbidden)
        #expect(logs.all.contains { $0.contains("Register of dev1") && $0.contains("must use psk, not NoSec") })
        let out = register(&m, "plain1", identity: nil, from: address(port: 5000))
        #expect(out.code == .created)
        let json = LwM2MServerEvent.registered(try #require(out.registered), replaced: nil).json.jsonText
        #expect(json.contains(#""security":"nosec""#))
        #expect(!json.contains(#""identity""#))
    }

    @Test("an unlisted endpoint is refused over plain CoAP when the store forbids NoSec for unknown endpoints")
    func noSecRefused() throws {
        let strict = try LwM2MInMemorySecurityStore([.noSec(endpoint: "open1")], noSecForUnknownEndpoints: false)
        var m = machine({ $0.security = strict }, logs: logs)
        #expect(register(&m, "plain1", identity: nil).code == .forbidden)
        #expect(register(&m, "open1", identity: nil).code == .created)
    }

    @Test("certificates: the CN of the endpoint's entry registers, another CN gets 4.03")
    func certificate() {
        var m = securedMachine()
        #expect(register(&m, "dev3", identity: .certificate(commonName: "dev3")).code == .forbidden)
        #expect(register(&m, "dev3", identity: .certificate(commonName: "device-3")).code == .created)
        #expect(register(&m, "dev1", identity: .certificate(commonName: "device-3"), from: address(port: 1)).code == .forbidden)
    }

    @Test("Update, Send and De-register must come from the identity that registered")
    func sameIdentity() throws {
        var m = securedMachine()
        let r = try #require(register(&m, "dev1", identity: .psk(identity: "dev1-id")).registered)
        let update = request(.post, ["rd", r.id], query: ["lt=120"])
        #expect(m.handle(update, from: address(), identity: .psk(identity: "dev2-id"), now: t0).code == .forbidden)
        #expect(m.handle(update, from: address(), identity: nil, now: t0).code == .forbidden)
        #expect(m.registrations.registration(id: r.id)?.lifetime == 60)
        #expect(logs.all.contains {
            $0.hasPrefix("warning Update of dev1 from 10.0.0.1:40000 with psk:dev2-id rejected (4.03)")
                && $0.hasSuffix("it registered with psk:dev1-id")
        }, "\(logs.all)")
        var send = request(.post, ["dp"], payload: "[]", contentFormat: .senmlJSON)
        send.contentFormat = .senmlJSON
        #expect(m.handle(send, from: address(), identity: nil, now: t0).code == .forbidden)

        let delete = request(.delete, ["rd", r.id])
        #expect(m.handle(delete, from: address(), identity: .psk(identity: "dev2-id"), now: t0).code == .forbidden)
        #expect(m.registrations.registration(id: r.id) != nil)
        #expect(m.handle(update, from: address(), identity: .psk(identity: "dev1-id"), now: t0).code == .changed)
        #expect(m.handle(delete, from: address(), identity: .psk(identity: "dev1-id"), now: t0).code == .deleted)
        #expect(m.registrations.registration(id: r.id) == nil)
    }

    @Test("without a store, a plain registration cannot be updated by a DTLS peer and vice versa")
    func noStore() throws {
        var m = machine(logs: logs)
        let r = try #require(register(&m, "dev1", identity: nil).registered)
        let update = request(.post, ["rd", r.id], query: ["lt=120"])
        #expect(m.handle(update, from: address(), identity: .psk(identity: "x"), now: t0).code == .forbidden)
        #expect(m.handle(update, from: address(), identity: nil, now: t0).code == .changed)
    }

    @Test("without a store, a DTLS registration is replaced only by its own identity: NoSec and others get 4.03")
    func noStoreReplace() throws {
        var m = machine(logs: logs)
        let r = try #require(register(&m, "dev1", identity: .psk(identity: "dev1-id")).registered)
        let plain = register(&m, "dev1", identity: nil, from: address("10.0.0.7", port: 5683))
        #expect(plain.code == .forbidden)
        #expect(plain.events.isEmpty)
        #expect(plain.cancelledObservations.isEmpty)
        #expect(logs.all.contains {
            $0 == "warning Register of dev1 from 10.0.0.7:5683 with no DTLS identity rejected (4.03): "
                + "it registered with psk:dev1-id"
        }, "\(logs.all)")
        #expect(register(&m, "dev1", identity: .psk(identity: "other-id")).code == .forbidden)
        #expect(register(&m, "dev1", identity: .certificate(commonName: "dev1")).code == .forbidden)
        #expect(m.registrations.registration(endpoint: "dev1")?.id == r.id)
        // The same identity replaces it, from any address.
        let again = register(&m, "dev1", identity: .psk(identity: "dev1-id"), from: address(port: 6000))
        #expect(again.code == .created)
        #expect(try #require(again.registered).id != r.id)
        #expect(m.registrations.registration(endpoint: "dev1")?.identity == .psk(identity: "dev1-id"))
    }

    @Test("without a store, a NoSec registration may be replaced over DTLS (an upgrade), then no longer over NoSec")
    func noStoreUpgrade() throws {
        var m = machine(logs: logs)
        _ = try #require(register(&m, "dev1", identity: nil).registered)
        #expect(register(&m, "dev1", identity: nil).code == .created)
        #expect(register(&m, "dev1", identity: .certificate(commonName: "dev1")).code == .created)
        #expect(register(&m, "dev1", identity: nil).code == .forbidden)
        #expect(m.registrations.registration(endpoint: "dev1")?.identity == .certificate(commonName: "dev1"))
    }

    @Test("with a store, its rule answers first; a NoSec entry cannot replace a live DTLS registration either")
    func storeThenReplace() throws {
        let mixed = try LwM2MInMemorySecurityStore([
            LwM2MSecurityInfo(
                endpoint: "dev3", psk: .init(identity: "dev3", key: [1]), allowsNoSec: true)
        ])
        var m = machine({ $0.security = mixed }, logs: logs)
        #expect(register(&m, "dev3", identity: nil).code == .created)
        #expect(register(&m, "dev3", identity: .psk(identity: "dev1-id")).code == .forbidden)
        #expect(logs.all.contains { $0.contains("does not belong to endpoint dev3") }, "\(logs.all)")
        #expect(register(&m, "dev3", identity: .psk(identity: "dev3")).code == .created)
        #expect(register(&m, "dev3", identity: nil).code == .forbidden)
        #expect(logs.all.contains {
            $0.hasPrefix("warning Register of dev3 from 10.0.0.1:40000 with no DTLS identity rejected (4.03)")
                && $0.hasSuffix("it registered with psk:dev3")
        }, "\(logs.all)")
    }
}
