import LwM2MModel
import NIOCore
import Testing

@testable import ClientKit

private let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
private let temperature = LwM2MPath.resource(3303, 0, 5700)
private let battery = LwM2MPath.resource(3, 0, 9)

@Suite("Notification rules: evaluation periods and composite observations")
struct NotificationEvaluationTests {
    @Test("epmin: a change inside it is evaluated when it ends, with the value at that time")
    func epminDefersEvaluation() {
        var sm = LwM2MNotificationStateMachine()
        sm.add(1, path: temperature, attributes: .init(gt: 25, epmin: 5), value: 20, now: t0)
        // 1 s after the response: too soon to evaluate, whatever the value.
        #expect(sm.changed([temperature], now: t0 + .seconds(1), value: { _ in 30 }).isEmpty)
        #expect(sm.nextDeadline == t0 + .seconds(5))
        #expect(sm.advance(to: t0 + .seconds(4), value: { _ in 30 }).isEmpty)
        // At epmin the value is sampled again: it fell back below gt, so nothing crossed.
        #expect(sm.advance(to: t0 + .seconds(5), value: { _ in 24 }).isEmpty)
        #expect(sm.nextDeadline == nil)
        // After epmin, a crossing change is evaluated at once.
        #expect(sm.changed([temperature], now: t0 + .seconds(11), value: { _ in 26 }) == [1])
        sm.sent(1, value: 26, now: t0 + .seconds(11))
        // The next change inside epmin is held, and evaluated (crossing back) when epmin ends.
        #expect(sm.changed([temperature], now: t0 + .seconds(12), value: { _ in 22 }).isEmpty)
        #expect(sm.nextDeadline == t0 + .seconds(16))
        #expect(sm.advance(to: t0 + .seconds(16), value: { _ in 22 }) == [1])
    }

    @Test("epmax: the value is sampled without change reports; a moved value notifies, a still one does not")
    func epmaxSamples() {
        var sm = LwM2MNotificationStateMachine()
        sm.add(1, path: battery, attributes: .init(epmax: 10), value: 80, now: t0)
        #expect(sm.nextDeadline == t0 + .seconds(10))
        #expect(sm.advance(to: t0 + .seconds(10), value: { _ in 80 }).isEmpty)
        #expect(sm.nextDeadline == t0 + .seconds(20))
        #expect(sm.advance(to: t0 + .seconds(20), value: { _ in 79 }) == [1])
        sm.sent(1, value: 79, now: t0 + .seconds(20))
        // With st, a sampled move smaller than the step is not reported.
        var st = LwM2MNotificationStateMachine()
        st.add(1, path: battery, attributes: .init(st: 5, epmax: 10), value: 80, now: t0)
        #expect(st.advance(to: t0 + .seconds(10), value: { _ in 78 }).isEmpty)
        #expect(st.advance(to: t0 + .seconds(20), value: { _ in 74 }) == [1])
    }

    @Test("epmax sampling still honours pmin; epmax not above epmin is ignored")
    func epmaxWithPminAndInvalid() {
        var sm = LwM2MNotificationStateMachine()
        sm.add(1, path: battery, attributes: .init(pmin: 30, epmax: 10), value: 80, now: t0)
        #expect(sm.advance(to: t0 + .seconds(10), value: { _ in 70 }).isEmpty)
        #expect(sm.nextDeadline == t0 + .seconds(20))
        #expect(sm.advance(to: t0 + .seconds(20), value: { _ in 70 }).isEmpty)
        #expect(sm.advance(to: t0 + .seconds(30), value: { _ in 70 }) == [1])

        var ignored = LwM2MNotificationStateMachine()
        ignored.add(2, path: battery, attributes: .init(epmin: 10, epmax: 10), value: 80, now: t0)
        #expect(ignored.nextDeadline == nil)
    }

    @Test("Composite: any member's reportable change notifies; each member keeps its own gt/lt/st")
    func compositeMembers() {
        var sm = LwM2MNotificationStateMachine()
        let values: [LwM2MPath: Double] = [temperature: 20, battery: 80]
        sm.addComposite(
            1, members: [(temperature, .init(gt: 25)), (battery, .init(st: 10))], now: t0, value: { values[$0] })
        #expect(sm.paths[1] == temperature)
        // The battery moves less than its step, the temperature stays under gt: nothing.
        #expect(sm.changed([battery], now: t0 + .seconds(1), value: { $0 == battery ? 75 : 20 }).isEmpty)
        #expect(sm.changed([temperature], now: t0 + .seconds(2), value: { $0 == battery ? 75 : 24 }).isEmpty)
        // The battery moved 10 since the last notification: the composite notifies.
        #expect(sm.changed([battery], now: t0 + .seconds(3), value: { $0 == battery ? 70 : 24 }) == [1])
        sm.sent(1, now: t0 + .seconds(3)) { $0 == battery ? 70 : 24 }
        // Unrelated paths do not touch it.
        #expect(sm.changed([.resource(3, 0, 13)], now: t0 + .seconds(4), value: { _ in 0 }).isEmpty)
        #expect(sm.changed([temperature], now: t0 + .seconds(5), value: { $0 == battery ? 70 : 26 }) == [1])
    }

    @Test("Composite timing: the shortest pmin and pmax of the members; a member's attributes can change alone")
    func compositeTiming() {
        var sm = LwM2MNotificationStateMachine()
        sm.addComposite(
            1, members: [(temperature, .init(pmin: 10, pmax: 60)), (battery, .init(pmin: 20, pmax: 40))], now: t0,
            value: { _ in 1 })
        #expect(sm.nextDeadline == t0 + .seconds(40))
        #expect(sm.changed([temperature], now: t0 + .seconds(5), value: { _ in 2 }).isEmpty)
        #expect(sm.nextDeadline == t0 + .seconds(10))
        #expect(sm.due(at: t0 + .seconds(10)) == [1])
        sm.sent(1, now: t0 + .seconds(10)) { _ in 2 }
        sm.update(1, attributes: .init(pmin: 20, pmax: 90), for: battery)
        #expect(sm.nextDeadline == t0 + .seconds(70))
        #expect(LwM2MNotificationAttributes.combined([.init(pmin: 3, epmax: 0), .init(pmax: 9, epmin: 2)])
            == LwM2MNotificationAttributes(pmin: 3, pmax: 9, epmin: 2))
    }
}
