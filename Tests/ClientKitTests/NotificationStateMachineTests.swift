import LwM2MModel
import NIOCore
import Testing

@testable import ClientKit

private let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
private let path = LwM2MPath.resource(3303, 0, 5700)

@Suite("Notification rules")
struct NotificationStateMachineTests {
    @Test("pmin holds a change back and the latest state goes out when it expires")
    func pminHoldsBack() {
        var sm = LwM2MNotificationStateMachine()
        sm.add(1, path: path, attributes: .init(pmin: 10), value: 20, now: t0)
        #expect(sm.changed([path], now: t0 + .seconds(2), value: { _ in 21 }).isEmpty)
        #expect(sm.nextDeadline == t0 + .seconds(10))
        #expect(sm.due(at: t0 + .seconds(9)).isEmpty)
        #expect(sm.due(at: t0 + .seconds(10)) == [1])
        sm.sent(1, value: 22, now: t0 + .seconds(10))
        #expect(sm.nextDeadline == nil)
        // After pmin, a change goes out at once.
        #expect(sm.changed([path], now: t0 + .seconds(25), value: { _ in 23 }) == [1])
    }

    @Test("pmax forces a notification without changes; pmax below pmin is ignored")
    func pmaxForces() {
        var sm = LwM2MNotificationStateMachine()
        sm.add(1, path: path, attributes: .init(pmin: 5, pmax: 30), value: 20, now: t0)
        #expect(sm.nextDeadline == t0 + .seconds(30))
        #expect(sm.due(at: t0 + .seconds(30)) == [1])
        var ignored = LwM2MNotificationStateMachine()
        ignored.add(2, path: path, attributes: .init(pmin: 60, pmax: 30), value: 20, now: t0)
        #expect(ignored.nextDeadline == nil)
    }

    @Test("gt and lt notify on crossing only; st on a large enough step")
    func thresholds() {
        var sm = LwM2MNotificationStateMachine()
        sm.add(1, path: path, attributes: .init(gt: 25), value: 20, now: t0)
        #expect(sm.changed([path], now: t0 + .seconds(1), value: { _ in 24 }).isEmpty)
        #expect(sm.changed([path], now: t0 + .seconds(2), value: { _ in 26 }) == [1])
        sm.sent(1, value: 26, now: t0 + .seconds(2))
        #expect(sm.changed([path], now: t0 + .seconds(3), value: { _ in 30 }).isEmpty)
        #expect(sm.changed([path], now: t0 + .seconds(4), value: { _ in 25 }) == [1])

        var lt = LwM2MNotificationStateMachine()
        lt.add(1, path: path, attributes: .init(lt: 0), value: 5, now: t0)
        #expect(lt.changed([path], now: t0, value: { _ in 1 }).isEmpty)
        #expect(lt.changed([path], now: t0, value: { _ in -1 }) == [1])

        var st = LwM2MNotificationStateMachine()
        st.add(1, path: path, attributes: .init(st: 2), value: 20, now: t0)
        #expect(st.changed([path], now: t0, value: { _ in 21.5 }).isEmpty)
        #expect(st.changed([path], now: t0, value: { _ in 22 }) == [1])
    }

    @Test("Instance observations see resource changes; unrelated paths do not notify")
    func prefixes() {
        var sm = LwM2MNotificationStateMachine()
        sm.add(1, path: .instance(3303, 0), attributes: .init(), value: nil, now: t0)
        sm.add(2, path: .resource(3, 0, 9), attributes: .init(), value: nil, now: t0)
        #expect(sm.changed([path], now: t0, value: { _ in 1 }) == [1])
        #expect(sm.changed([.instance(3303, 0)], now: t0, value: { _ in 1 }) == [1])
    }

    @Test("Attribute inheritance: resource over instance over object over server defaults")
    func inheritance() {
        let defaults = LwM2MNotificationAttributes(pmin: 1, pmax: 60)
        let object = LwM2MNotificationAttributes(pmax: 30)
        let instance = LwM2MNotificationAttributes(pmin: 5)
        let resource = LwM2MNotificationAttributes(gt: 10)
        let effective = resource.inheriting(from: instance.inheriting(from: object.inheriting(from: defaults)))
        #expect(effective == LwM2MNotificationAttributes(pmin: 5, pmax: 30, gt: 10))
    }
}
