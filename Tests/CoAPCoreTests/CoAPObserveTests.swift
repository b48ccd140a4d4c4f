import CoAPCore
import NIOCore
import Testing

@Suite("Observe: client freshness and cancellation (RFC 7641 section 3)")
struct CoAPObserveClientTests {
    let t0 = BlockTest.t0

    static func notification(_ value: UInt32?, code: CoAPCode = .content, token: UInt8 = 1) -> CoAPMessage {
        var m = CoAPMessage(type: .nonConfirmable, code: code, messageID: 9, token: CoAPToken([token])!,
            payload: ByteBuffer(string: "v\(value ?? 0)"))
        m.observe = value
        return m
    }

    /// (last, new, seconds later, fresh)
    static let freshnessVectors: [(UInt32, UInt32, Int64, Bool)] = [
        (5, 6, 0, true),
        (6, 5, 0, false),
        (6, 6, 0, false),
        (0xFF_FFFF, 0, 0, true),             // wrap-around
        (0xFF_FFF0, 3, 0, true),
        (3, 0xFF_FFF0, 0, false),             // "older" across the wrap
        (0, 1 << 23, 0, false),              // exactly half: not newer
        (0, (1 << 23) - 1, 0, true),
        (1 << 23, 0, 0, false),
        (1 << 23, 0xFF_FFFF, 0, true),
        (100, 50, 128, false),               // 128 s is not more than 128 s
        (100, 50, 129, true),                // more than 128 s: fresh whatever the value
    ]

    @Test("the RFC's rule: newer within 2^23, wrap-around, and anything after 128 s", arguments: freshnessVectors)
    func freshness(last: UInt32, new: UInt32, seconds: Int64, fresh: Bool) {
        let f = CoAPObserveFreshness(value: last, time: t0)
        #expect(f.isFresh(new, at: t0 + .seconds(seconds)) == fresh)
    }

    @Test("stale and reordered notifications are dropped; values wrap past 2^24")
    func ordering() throws {
        var sm = CoAPObserveClientStateMachine(request: BlockTest.get(["t"]))
        #expect(sm.registrationRequest.observe == 0)
        let v1 = sm.receive(Self.notification(0xFF_FFFD), now: t0)
        #expect(v1 == .deliver(Self.notification(0xFF_FFFD)))
        #expect(sm.state == .observing)
        var delivered: [UInt32] = []
        // Arrival order with reordering: FFFFFE, 0 (wrapped), FFFFFF (late), 2, 1 (late), 3
        for v: UInt32 in [0xFF_FFFE, 0, 0xFF_FFFF, 2, 1, 3] {
            if case .deliver(let m) = sm.receive(Self.notification(v), now: t0 + .seconds(1)) {
                delivered.append(m.observe!)
            }
        }
        #expect(delivered == [0xFF_FFFE, 0, 2, 3])
        // After more than 128 s even an older value is taken (the server may have restarted).
        let v2 = sm.receive(Self.notification(1), now: t0 + .seconds(130))
        #expect(v2 == .deliver(Self.notification(1)))
        #expect(sm.lastFresh?.lastValue == 1)
    }

    @Test("an error or a response without Observe ends the observation; later ones are answered with RST")
    func serverEnds() {
        var sm = CoAPObserveClientStateMachine(request: BlockTest.get(["t"]))
        _ = sm.receive(Self.notification(1), now: t0)
        let gone = Self.notification(nil, code: .notFound)
        let v3 = sm.receive(gone, now: t0)
        #expect(v3 == .finish(gone))
        #expect(sm.state == .finished)
        let v4 = sm.receive(Self.notification(2), now: t0)
        #expect(v4 == .reset)

        var plain = CoAPObserveClientStateMachine(request: BlockTest.get(["t"]))
        let noObserve = Self.notification(nil)
        let v5 = plain.receive(noObserve, now: t0)
        #expect(v5 == .finish(noObserve))  // the server does not support observe
    }

    @Test("active cancel: a GET with Observe = 1, same token and options; notifications in flight are dropped")
    func activeCancel() throws {
        var request = BlockTest.get(["t"], token: 7)
        request.accept = .textPlain
        var sm = CoAPObserveClientStateMachine(request: request)
        _ = sm.receive(Self.notification(1, token: 7), now: t0)
        let v6 = sm.cancelActively()
        let cancel = try #require(v6)
        #expect(cancel.code == .get)
        #expect(cancel.observe == 1)
        #expect(cancel.token == CoAPToken([7])!)
        #expect(cancel.uriPath == ["t"])
        #expect(cancel.accept == .textPlain)
        #expect(sm.state == .cancelling)
        let v7 = sm.cancelActively()
        #expect(v7 == nil)
        let v8 = sm.receive(Self.notification(2, token: 7), now: t0)
        #expect(v8 == .drop)
        let final = Self.notification(nil, token: 7)
        let v9 = sm.receive(final, now: t0)
        #expect(v9 == .finish(final))
        let v10 = sm.receive(Self.notification(3, token: 7), now: t0)
        #expect(v10 == .reset)
    }

    @Test("passive cancel: forget, and the next notification gets RST")
    func passiveCancel() {
        var sm = CoAPObserveClientStateMachine(request: BlockTest.get(["t"]))
        _ = sm.receive(Self.notification(1), now: t0)
        sm.cancelPassively()
        #expect(sm.state == .finished)
        let v11 = sm.receive(Self.notification(2), now: t0)
        #expect(v11 == .reset)
        let v12 = sm.cancelActively()
        #expect(v12 == nil)
    }
}

@Suite("Observe: server registry (RFC 7641 section 4)")
struct CoAPObserverRegistryTests {
    typealias Registry = CoAPObserverRegistry<String, String>
    let t0 = BlockTest.t0

    static func observe(_ path: String, token: UInt8, value: UInt32 = 0) -> CoAPMessage {
        var m = BlockTest.get([path], token: token)
        m.observe = value
        return m
    }

    @Test("intent: Observe 0 registers, 1 deregisters, only on GET/FETCH")
    func intent() {
        #expect(Registry.intent(of: Self.observe("a", token: 1)) == .register)
        #expect(Registry.intent(of: Self.observe("a", token: 1, value: 1)) == .deregister)
        #expect(Registry.intent(of: BlockTest.get(["a"])) == .none)
        var put = Self.observe("a", token: 1)
        put.code = .put
        #expect(Registry.intent(of: put) == .none)
        #expect(Registry.intent(of: Self.observe("a", token: 1, value: 5)) == .none)
    }

    @Test("observers per resource keyed by peer and token; notifications carry increasing sequence values")
    func registerAndNotify() throws {
        var r = Registry()
        let v13 = r.register(Self.observe("temp", token: 1), from: "A", resource: "/temp", now: t0)
        let s1 = try #require(v13)
        let v14 = r.register(Self.observe("temp", token: 2), from: "A", resource: "/temp", now: t0)
        let s2 = try #require(v14)
        _ = r.register(Self.observe("temp", token: 1), from: "B", resource: "/temp", now: t0)
        _ = r.register(Self.observe("hum", token: 3), from: "B", resource: "/hum", now: t0)
        #expect(s2 > s1)
        #expect(r.count == 4)
        #expect(r.observers(of: "/temp").count == 3)
        let n1 = r.notify("/temp", now: t0 + .seconds(1))
        #expect(n1.count == 3)
        #expect(Set(n1.map(\.key)) == [.init(peer: "A", token: CoAPToken([1])!), .init(peer: "A", token: CoAPToken([2])!), .init(peer: "B", token: CoAPToken([1])!)])
        #expect(Set(n1.map(\.sequence)).count == 1)
        #expect(n1[0].request.uriPath == ["temp"])
        let n2 = r.notify("/temp", now: t0 + .seconds(2))
        #expect(n2[0].sequence == n1[0].sequence + 1)
        let v15 = r.notify("/nothing", now: t0)
        #expect(v15.isEmpty)
        // Values handed out are fresh for a client by the RFC's rule.
        var f = CoAPObserveFreshness(value: s1, time: t0)
        let v16 = f.accept(n1[0].sequence, at: t0)
        #expect(v16)
        let v17 = f.accept(n2[0].sequence, at: t0)
        #expect(v17)
    }

    @Test("deregistration by Observe = 1 (same peer and token), by RST to a notification and by CON timeout")
    func deregistration() throws {
        var r = Registry()
        _ = r.register(Self.observe("t", token: 1), from: "A", resource: "/t", now: t0)
        _ = r.register(Self.observe("t", token: 2), from: "B", resource: "/t", now: t0)
        _ = r.register(Self.observe("t", token: 3), from: "C", resource: "/t", now: t0)
        let v18 = r.deregister(peer: "A", token: CoAPToken([2])!)
        #expect(v18 == nil)  // wrong token: nothing
        let v19 = r.deregister(peer: "A", token: CoAPToken([1])!)
        #expect(v19?.resource == "/t")
        #expect(r.count == 2)

        for n in r.notify("/t", now: t0) { r.sent(n.key, messageID: n.key.peer == "B" ? 500 : 600) }
        let v20 = r.reset(from: "A", messageID: 500)
        #expect(v20 == nil)  // the message ID of another peer
        let v21 = r.reset(from: "B", messageID: 500)
        #expect(v21?.key.token == CoAPToken([2])!)
        #expect(r.observer(peer: "B", token: CoAPToken([2])!) == nil)
        let v22 = r.notificationTimedOut(peer: "C", token: CoAPToken([3])!)
        #expect(v22 != nil)
        #expect(r.count == 0)
        let v23 = r.notify("/t", now: t0)
        #expect(v23.isEmpty)
    }

    @Test("an RST to an older notification than the last does not match; the last one does")
    func resetMatchesLastMessageID() throws {
        var r = Registry()
        let key = Registry.ObserverKey(peer: "A", token: CoAPToken([1])!)
        _ = r.register(Self.observe("t", token: 1), from: "A", resource: "/t", now: t0)
        r.sent(key, messageID: 10)
        r.sent(key, messageID: 11)
        let v24 = r.reset(from: "A", messageID: 10)
        #expect(v24 == nil)
        let v25 = r.reset(from: "A", messageID: 11)
        #expect(v25 != nil)
    }

    @Test("re-registration with the same peer and token replaces the observer and keeps the sequence rising")
    func reregistration() throws {
        var r = Registry()
        let v26 = r.register(Self.observe("t", token: 1), from: "A", resource: "/t", now: t0)
        let s1 = try #require(v26)
        _ = r.notify("/t", now: t0)
        var again = Self.observe("t", token: 1)
        again.accept = .json
        let v27 = r.register(again, from: "A", resource: "/t", now: t0)
        let s2 = try #require(v27)
        #expect(s2 > s1 + 1)
        #expect(r.count == 1)
        #expect(r.observer(peer: "A", token: CoAPToken([1])!)?.request.accept == .json)
        // Moving the token to another resource moves the observer.
        _ = r.register(Self.observe("u", token: 1), from: "A", resource: "/u", now: t0)
        #expect(r.observers(of: "/t").isEmpty)
        #expect(r.observers(of: "/u").count == 1)
    }

    @Test("a resource observed anew continues above the values of its earlier observation")
    func sequenceAfterReobservation() throws {
        var r = Registry()
        _ = r.register(Self.observe("t", token: 1), from: "A", resource: "/t", now: t0)
        var last: UInt32 = 0
        for _ in 0..<5 { last = r.notify("/t", now: t0)[0].sequence }
        r.deregister(peer: "A", token: CoAPToken([1])!)
        let v28 = r.register(Self.observe("t", token: 1), from: "A", resource: "/t", now: t0)
        let again = try #require(v28)
        #expect(CoAPObserveFreshness(value: last, time: t0).isFresh(again, at: t0))
    }

    @Test("CON at least every N notifications and at least every interval; forced CON resets the count")
    func periodicConfirmable() throws {
        var r = Registry(configuration: .init(confirmableInterval: .seconds(60), confirmableEvery: 4))
        _ = r.register(Self.observe("t", token: 1), from: "A", resource: "/t", now: t0)
        var types: [CoAPMessageType] = []
        for k in 0..<8 { types.append(r.notify("/t", now: t0 + .seconds(Int64(k)))[0].type) }
        #expect(types == [.nonConfirmable, .nonConfirmable, .nonConfirmable, .confirmable,
                          .nonConfirmable, .nonConfirmable, .nonConfirmable, .confirmable])
        let v29 = r.notify("/t", now: t0 + .seconds(10))
        #expect(v29[0].type == .nonConfirmable)
        let v30 = r.notify("/t", now: t0 + .seconds(10), confirmable: true)
        #expect(v30[0].type == .confirmable)
        let v31 = r.notify("/t", now: t0 + .seconds(11))
        #expect(v31[0].type == .nonConfirmable)
        // 60 s after the last CON (at 10 s), the next is CON even though the count is low.
        let v32 = r.notify("/t", now: t0 + .seconds(70))
        #expect(v32[0].type == .confirmable)
    }

    @Test("the registry refuses registrations past its maximum")
    func maxObservers() {
        var r = Registry(configuration: .init(maxObservers: 2))
        let v33 = r.register(Self.observe("t", token: 1), from: "A", resource: "/t", now: t0)
        #expect(v33 != nil)
        let v34 = r.register(Self.observe("t", token: 2), from: "A", resource: "/t", now: t0)
        #expect(v34 != nil)
        let v35 = r.register(Self.observe("t", token: 3), from: "A", resource: "/t", now: t0)
        #expect(v35 == nil)
        let v36 = r.register(Self.observe("t", token: 2), from: "A", resource: "/t", now: t0)
        #expect(v36 != nil)  // re-registration is fine
        r.removeAll(peer: "A")
        #expect(r.count == 0)
    }

    @Test("the client state machine accepts every notification the registry numbers, in order")
    func registryToClient() throws {
        var r = Registry(configuration: .init(confirmableEvery: 1))
        var client = CoAPObserveClientStateMachine(request: Self.observe("t", token: 1))
        let v37 = r.register(Self.observe("t", token: 1), from: "A", resource: "/t", now: t0)
        let first = try #require(v37)
        var registration = CoAPObserveClientTests.notification(first)
        registration.type = .acknowledgement
        let v38 = client.receive(registration, now: t0)
        #expect(v38 == .deliver(registration))
        var delivered = 0
        for k in 0..<100 {
            let n = r.notify("/t", now: t0 + .milliseconds(Int64(k)))[0]
            #expect(n.type == .confirmable)
            if case .deliver = client.receive(CoAPObserveClientTests.notification(n.sequence), now: t0 + .milliseconds(Int64(k))) {
                delivered += 1
            }
        }
        #expect(delivered == 100)
    }
}

@Suite("Observe: one notification in flight per observer (RFC 7641 section 4.5.2)")
struct CoAPObserverCoalescingTests {
    typealias Registry = CoAPObserverRegistry<String, String>
    let t0 = BlockTest.t0

    @Test("changes during a notification in flight collapse into one with the newest sequence; CON is kept")
    func coalesces() throws {
        var r = Registry(configuration: .init(confirmableEvery: 100, coalescesInFlight: true))
        let a = Registry.ObserverKey(peer: "A", token: CoAPToken([1])!)
        let b = Registry.ObserverKey(peer: "B", token: CoAPToken([2])!)
        _ = r.register(CoAPObserverRegistryTests.observe("t", token: 1), from: "A", resource: "/t", now: t0)
        _ = r.register(CoAPObserverRegistryTests.observe("t", token: 2), from: "B", resource: "/t", now: t0)
        let first = r.notify("/t", now: t0)
        #expect(first.count == 2)
        #expect(r.observer(peer: "A", token: a.token)?.inFlight == true)
        // B's notification completes; A's is still in flight.
        let doneB = r.completed(b)
        #expect(doneB == nil)
        #expect(r.observer(peer: "B", token: b.token)?.inFlight == false)
        let second = r.notify("/t", now: t0, confirmable: true)
        let third = r.notify("/t", now: t0)
        #expect(second.map(\.key) == [b])  // A is busy: only B gets it now
        #expect(third.isEmpty)               // and now B is busy too
        let completedA = r.completed(a)
        let nextA = try #require(completedA)
        #expect(nextA.sequence == first[0].sequence + 2)
        #expect(nextA.type == .confirmable)  // the coalesced CON stays CON
        let completedB = r.completed(b)
        let nextB = try #require(completedB)
        #expect(nextB.sequence == first[0].sequence + 2)
        #expect(nextB.type == .nonConfirmable)
        let doneA = r.completed(a)
        #expect(doneA == nil)
        #expect(r.observer(peer: "A", token: a.token)?.inFlight == false)
        let unknown = r.completed(Registry.ObserverKey(peer: "Z", token: .empty))
        #expect(unknown == nil)
    }
}
