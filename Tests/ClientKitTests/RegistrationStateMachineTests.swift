import CoAPCore
import NIOCore
import Testing

@testable import ClientKit

private let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

private func config(
    lifetime: UInt32 = 300, version: LwM2MEnablerVersion = .v1_1, queueMode: Bool = false,
    updatePeriod: TimeAmount? = nil
) -> LwM2MRegistrationConfiguration {
    LwM2MRegistrationConfiguration(
        endpointName: "dev1", lifetime: lifetime, version: version, queueMode: queueMode, updatePeriod: updatePeriod)
}

private func events(_ actions: [LwM2MRegistrationStateMachine.Action]) -> [LwM2MRDClientEvent] {
    actions.compactMap { if case .emit(let e) = $0 { return e } else { return nil } }
}

private func requests(_ actions: [LwM2MRegistrationStateMachine.Action]) -> [LwM2MRegistrationStateMachine.Request] {
    actions.compactMap { if case .send(let r) = $0 { return r } else { return nil } }
}

/// Starts and completes a registration at `t0`.
private func registered(_ c: LwM2MRegistrationConfiguration) -> LwM2MRegistrationStateMachine {
    var sm = LwM2MRegistrationStateMachine(configuration: c)
    let id = requests(sm.start(now: t0))[0].id
    let actions = sm.receive(.success(location: ["rd", "a1"]), for: id, now: t0)
    precondition(events(actions) == [.registrationComplete])
    return sm
}

@Suite("Registration state machine")
struct RegistrationStateMachineTests {
    @Test("Register query for 1.0 and 1.1, with and without queue mode")
    func registerQuery() {
        #expect(LwM2MRegistrationStateMachine(configuration: config()).registerQuery == ["ep=dev1", "lt=300", "lwm2m=1.1", "b=U"])
        #expect(LwM2MRegistrationStateMachine(configuration: config(queueMode: true)).registerQuery
            == ["ep=dev1", "lt=300", "lwm2m=1.1", "b=U", "Q"])
        #expect(LwM2MRegistrationStateMachine(configuration: config(version: .v1_0, queueMode: true)).registerQuery
            == ["ep=dev1", "lt=300", "lwm2m=1.0", "b=UQ"])
    }

    @Test("REGISTRATION_COMPLETE, then an Update before the lifetime expires and REG_UPDATE_COMPLETE")
    func registerAndUpdate() {
        var sm = LwM2MRegistrationStateMachine(configuration: config(lifetime: 300))
        let start = sm.start(now: t0)
        guard case .register(let id, _) = requests(start).first else { Issue.record("no register"); return }
        #expect(sm.status == .registering)
        #expect(events(sm.receive(.success(location: ["rd", "a1"]), for: id, now: t0)) == [.registrationComplete])
        #expect(sm.location == ["rd", "a1"])
        // Update 10 s (secondsToUpdateEarly) before the 300 s lifetime ends.
        #expect(sm.nextDeadline == t0 + .seconds(290))
        #expect(sm.advance(to: t0 + .seconds(289)).isEmpty)
        let update = requests(sm.advance(to: t0 + .seconds(290)))
        #expect(update == [.update(id: 2, location: ["rd", "a1"], query: [], includesObjects: false)])
        #expect(events(sm.receive(.success(location: []), for: 2, now: t0 + .seconds(291))) == [.registrationUpdateComplete])
        #expect(sm.nextDeadline == t0 + .seconds(580))
        #expect(sm.expiry == t0 + .seconds(591))
    }

    @Test("Update period shortens the interval; never more often than every 15 s")
    func updatePeriodAndFloodGuard() {
        #expect(LwM2MRegistrationStateMachine(configuration: config(lifetime: 3600, updatePeriod: .seconds(60))).updateInterval
            == .seconds(60))
        #expect(LwM2MRegistrationStateMachine(configuration: config(lifetime: 3600, updatePeriod: .seconds(5))).updateInterval
            == .seconds(15))
        // A short lifetime updates at half of it, but still not faster than 15 s.
        #expect(LwM2MRegistrationStateMachine(configuration: config(lifetime: 16)).updateInterval == .seconds(15))
        #expect(LwM2MRegistrationStateMachine(configuration: config(lifetime: 40)).updateInterval == .seconds(30))
        // A triggered update right after registering waits until 15 s have passed.
        var sm = registered(config())
        #expect(sm.triggerUpdate(now: t0 + .seconds(3)).isEmpty)
        #expect(sm.nextDeadline == t0 + .seconds(15))
        #expect(requests(sm.advance(to: t0 + .seconds(15))).count == 1)
    }

    @Test("REGISTRATION_FAILURE on rejection retries with doubling back-off, then NETWORK_ERROR")
    func rejectionBackoff() {
        var sm = LwM2MRegistrationStateMachine(configuration: config())
        var id = requests(sm.start(now: t0))[0].id
        var now = t0
        var delays: [TimeAmount] = []
        for attempt in 1...5 {
            let actions = sm.receive(.rejected(.forbidden), for: id, now: now)
            if attempt == 5 {
                #expect(events(actions) == [.registrationFailure, .networkError])
                #expect(sm.status == .networkError)
                #expect(sm.nextDeadline == nil)
                break
            }
            #expect(events(actions) == [.registrationFailure])
            let next = sm.nextDeadline!
            delays.append(next - now)
            now = next
            id = requests(sm.advance(to: now))[0].id
        }
        #expect(delays == [.seconds(10), .seconds(20), .seconds(40), .seconds(80)])
        // start() after NETWORK_ERROR registers again.
        #expect(requests(sm.start(now: now)).count == 1)
    }

    @Test("REG_TIMEOUT when an Update times out, and an immediate re-register")
    func updateTimeout() {
        var sm = registered(config())
        let update = requests(sm.advance(to: t0 + .seconds(290)))[0]
        let actions = sm.receive(.timeout, for: update.id, now: t0 + .seconds(380))
        #expect(events(actions) == [.registrationTimeout])
        guard case .register = requests(actions).first else { Issue.record("expected a register"); return }
        #expect(sm.location == nil)
    }

    @Test("An Update rejected with 4.04 means the registration is gone: REGISTRATION_FAILURE and register")
    func updateRejected() {
        var sm = registered(config())
        let update = requests(sm.triggerUpdate(now: t0 + .seconds(20)))[0]
        let actions = sm.receive(.rejected(.notFound), for: update.id, now: t0 + .seconds(21))
        #expect(events(actions) == [.registrationFailure])
        guard case .register = requests(actions).first else { Issue.record("expected a register"); return }
    }

    @Test("Register timeout emits REG_TIMEOUT and retries")
    func registerTimeout() {
        var sm = LwM2MRegistrationStateMachine(configuration: config())
        let id = requests(sm.start(now: t0))[0].id
        #expect(events(sm.receive(.timeout, for: id, now: t0 + .seconds(93))) == [.registrationTimeout])
        #expect(sm.status == .waitingToRegister)
        #expect(sm.nextDeadline == t0 + .seconds(103))
    }

    @Test("stop de-registers and emits DISCONNECT; a failed De-register emits DEREGISTER_FAILURE first")
    func stopAndDeregister() {
        var sm = registered(config())
        let dereg = requests(sm.stop(now: t0 + .seconds(5)))
        #expect(dereg == [.deregister(id: 2, location: ["rd", "a1"])])
        #expect(events(sm.receive(.success(location: []), for: 2, now: t0 + .seconds(5))) == [.disconnect])
        #expect(sm.status == .idle)

        var failing = registered(config())
        let id = requests(failing.stop(now: t0))[0].id
        #expect(events(failing.receive(.timeout, for: id, now: t0 + .seconds(93))) == [.deregisterFailure, .disconnect])
        // Stopping while waiting to retry just disconnects.
        var waiting = LwM2MRegistrationStateMachine(configuration: config())
        let rid = requests(waiting.start(now: t0))[0].id
        _ = waiting.receive(.rejected(.badRequest), for: rid, now: t0)
        #expect(events(waiting.stop(now: t0)) == [.disconnect])
        #expect(waiting.nextDeadline == nil)
    }

    @Test("SERVER_DISABLED: de-register, stay away for the disable time, then register again")
    func disable() {
        var sm = registered(config())
        let actions = sm.disable(for: .seconds(60), now: t0 + .seconds(10))
        #expect(events(actions) == [.serverDisabled])
        let dereg = requests(actions)[0]
        #expect(events(sm.receive(.success(location: []), for: dereg.id, now: t0 + .seconds(10))).isEmpty)
        #expect(sm.status == .disabled)
        #expect(sm.nextDeadline == t0 + .seconds(70))
        #expect(sm.advance(to: t0 + .seconds(69)).isEmpty)
        guard case .register = requests(sm.advance(to: t0 + .seconds(70))).first else {
            Issue.record("expected a register after the disable period")
            return
        }
    }

    @Test("Queue mode: QUEUE_MODE_RX_OFF after the awake window, an Update before sending wakes the client")
    func queueMode() {
        var sm = registered(config(lifetime: 3600, queueMode: true))
        #expect(sm.nextDeadline == t0 + .seconds(93))
        sm.serverActivity(now: t0 + .seconds(50))
        #expect(sm.nextDeadline == t0 + .seconds(143))
        let off = sm.advance(to: t0 + .seconds(143))
        #expect(off == [.setReceiving(false), .emit(.queueModeRxOff)])
        #expect(!sm.isReceiving)
        // Data to send while RX is off: listen again and send an Update first.
        let wake = sm.wakeForSending(now: t0 + .seconds(500))
        #expect(wake.first == .setReceiving(true))
        #expect(requests(wake).count == 1)
        #expect(events(sm.receive(.success(location: []), for: requests(wake)[0].id, now: t0 + .seconds(500)))
            == [.registrationUpdateComplete])
        #expect(sm.awakeUntil == t0 + .seconds(593))
    }

    @Test("ENGINE_SUSPENDED on pause: no timers; resume updates a live registration or registers again")
    func pauseResume() {
        var sm = registered(config())
        #expect(events(sm.pause(now: t0 + .seconds(1))) == [.engineSuspended])
        #expect(sm.nextDeadline == nil)
        guard case .update = requests(sm.resume(now: t0 + .seconds(100))).first else {
            Issue.record("expected an update")
            return
        }
        var expired = registered(config())
        _ = expired.pause(now: t0)
        guard case .register = requests(expired.resume(now: t0 + .seconds(400))).first else {
            Issue.record("expected a register after the lifetime ran out")
            return
        }
        // A response for a request sent before pausing is ignored.
        var inFlight = LwM2MRegistrationStateMachine(configuration: config())
        let id = requests(inFlight.start(now: t0))[0].id
        _ = inFlight.pause(now: t0)
        #expect(inFlight.receive(.success(location: ["rd", "x"]), for: id, now: t0).isEmpty)
        #expect(inFlight.status == .suspended)
    }

    @Test("Lifetime change and object changes go out in the Update")
    func updateParameters() {
        var sm = registered(config())
        let actions = sm.setLifetime(600, now: t0 + .seconds(30))
        #expect(requests(actions) == [.update(id: 2, location: ["rd", "a1"], query: ["lt=600"], includesObjects: false)])
        _ = sm.receive(.success(location: []), for: 2, now: t0 + .seconds(30))
        #expect(sm.expiry == t0 + .seconds(630))
        let objects = sm.objectsDidChange(now: t0 + .seconds(60))
        #expect(requests(objects) == [.update(id: 3, location: ["rd", "a1"], query: [], includesObjects: true)])
    }
}
