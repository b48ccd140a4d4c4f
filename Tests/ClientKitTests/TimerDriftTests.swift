import ClientKit
import LwM2MModel
import NIOCore
import Testing

private let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

@Suite("Periodic work keeps its period under late timers (no drift, no catch-up burst)")
struct TimerDriftTests {
    @Test("pmax: 100 periods fired 300 ms late each still end at t0 + 100 x pmax; a stall restarts the period")
    func pmaxDoesNotDrift() {
        var sm = LwM2MNotificationStateMachine()
        sm.add(1, path: .resource(3303, 0, 5700), attributes: .init(pmax: 10), value: 20, now: t0)
        for k in 1...100 {
            let deadline = t0 + .seconds(Int64(10 * k))
            #expect(sm.nextDeadline == deadline)
            let late = deadline + .milliseconds(300)   // a coarse clock step or a late timer
            #expect(sm.due(at: late) == [1])
            sm.sent(1, value: 20, now: late)
        }
        #expect(sm.nextDeadline == t0 + .seconds(1010))
        // A stall of 35 s (more than pmax): one notification, and the next period counts from it.
        let stalled = t0 + .seconds(1045)
        #expect(sm.due(at: stalled) == [1])
        sm.sent(1, value: 20, now: stalled)
        #expect(sm.nextDeadline == stalled + .seconds(10))
        #expect(sm.due(at: stalled + .seconds(1)).isEmpty)
        // A notification caused by a change restarts the period at its own time.
        let change = stalled + .seconds(4)
        #expect(sm.changed([.resource(3303, 0, 5700)], now: change, value: { _ in 25 }) == [1])
        sm.sent(1, value: 25, now: change)
        #expect(sm.nextDeadline == change + .seconds(10))
    }

    @Test("pmin still counts from the notification actually sent")
    func pminFromActualSend() {
        var sm = LwM2MNotificationStateMachine()
        sm.add(1, path: .resource(3303, 0, 5700), attributes: .init(pmin: 5, pmax: 10), value: 20, now: t0)
        let late = t0 + .seconds(10) + .milliseconds(900)
        sm.sent(1, value: 20, now: late)
        // A change 4.5 s after the late send is held back until pmin after that send.
        #expect(sm.changed([.resource(3303, 0, 5700)], now: late + .milliseconds(4500), value: { _ in 30 }).isEmpty)
        #expect(sm.nextDeadline == late + .seconds(5))
    }

    @Test("Update period: Updates fired late keep the schedule; a long stall sends one Update, not a burst")
    func updatePeriodDoesNotDrift() {
        let configuration = LwM2MRegistrationConfiguration(endpointName: "dev1", lifetime: 300, updatePeriod: .seconds(60))
        var sm = LwM2MRegistrationStateMachine(configuration: configuration)
        let register = sm.start(now: t0)
        guard case .send(let request)? = register.last else { Issue.record("no Register"); return }
        _ = sm.receive(.success(location: ["rd", "1"]), for: request.id, now: t0)
        for k in 1...50 {
            let deadline = t0 + .seconds(Int64(60 * k))
            #expect(sm.updateDue == deadline)
            let late = deadline + .milliseconds(700)
            let actions = sm.advance(to: late)
            guard case .send(let update)? = actions.last, case .update = update else {
                Issue.record("no Update at period \(k)")
                return
            }
            _ = sm.receive(.success(location: []), for: update.id, now: late + .milliseconds(200))
        }
        #expect(sm.updateDue == t0 + .seconds(51 * 60))
        // Stalled for 5 periods: one Update, then the next a full period after it.
        let stalled = t0 + .seconds(56 * 60) + .seconds(7)
        let actions = sm.advance(to: stalled)
        guard case .send(let update)? = actions.last else { Issue.record("no Update after the stall"); return }
        #expect(sm.advance(to: stalled).isEmpty)
        _ = sm.receive(.success(location: []), for: update.id, now: stalled)
        #expect(sm.updateDue == stalled + .seconds(60))
    }
}
