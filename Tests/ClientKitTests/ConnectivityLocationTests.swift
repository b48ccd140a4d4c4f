import LwM2MTestPKI
import ClientKit
import CoAPCore
import LwM2MModel
import NIOCore
import Synchronization
import Testing

@Suite("Connectivity Monitoring (4), Connectivity Statistics (7), Location (6)")
struct ConnectivityLocationTests {
    @Test("Connectivity Monitoring: values from the app, updated in one batch")
    func monitoring() throws {
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        try LwM2MStandardObjects.installConnectivityMonitoring(in: tree, info: .init(
            networkBearer: 6, availableBearers: [0, 6], radioSignalStrength: -93, linkQuality: 12,
            ipAddresses: ["10.1.2.3"], apn: ["internet"], cellID: 4242, smnc: 1, smcc: 262))
        #expect(tree.value(at: .resource(4, 0, 0)) == .integer(6))
        #expect(try tree.read(.resource(4, 0, 1)) == .resource(.multiple(1, [0: .integer(0), 1: .integer(6)])))
        #expect(tree.value(at: .resource(4, 0, 2)) == .integer(-93))
        #expect(tree.value(at: .resourceInstance(4, 0, 4, 0)) == .string("10.1.2.3"))
        #expect(tree.value(at: .resourceInstance(4, 0, 7, 0)) == .string("internet"))
        #expect(tree.value(at: .resource(4, 0, 10)) == .integer(262))
        #expect(!tree.contains(.resource(4, 0, 6)))
        let rounds = Mutex<[Set<LwM2MPath>]>([])
        tree.addChangeListener { paths in rounds.withLock { $0.append(paths) } }
        try LwM2MStandardObjects.updateConnectivityMonitoring(
            .init(networkBearer: 7, availableBearers: [7], radioSignalStrength: -80, ipAddresses: ["10.9.9.9", "fe80::1"]),
            in: tree)
        #expect(rounds.withLock { $0.count } == 1)
        #expect(rounds.withLock { $0[0] }.contains(.resource(4, 0, 2)))
        #expect(tree.value(at: .resource(4, 0, 2)) == .integer(-80))
        #expect(tree.value(at: .resourceInstance(4, 0, 4, 1)) == .string("fe80::1"))
        #expect(tree.value(at: .resource(4, 0, 8)) == .integer(4242))  // nil leaves the old value
        #expect(throws: LwM2MClientError.methodNotAllowed("")) {
            try tree.write(.resource(.single(0, .integer(1))), at: .resource(4, 0, 0), replace: true)
        }
    }

    @Test("Connectivity Statistics: counting only between Start and Stop; Start resets; KB and averages")
    func statistics() async throws {
        let clock = CoAPVirtualClock()
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        let stats = try LwM2MStandardObjects.installConnectivityStatistics(in: tree, clock: clock)
        stats.record(smsSent: 1, sentMessage: 5000)  // not collecting: ignored
        #expect(tree.value(at: .resource(7, 0, 0)) == .integer(0))
        try await tree.execute(.resource(7, 0, 6))
        #expect(stats.isCollecting)
        stats.record(smsSent: 2, smsReceived: 1, sentMessage: 3000, receivedMessage: 100)
        stats.record(receivedMessage: 1200)
        #expect(tree.value(at: .resource(7, 0, 0)) == .integer(2))
        #expect(tree.value(at: .resource(7, 0, 1)) == .integer(1))
        #expect(tree.value(at: .resource(7, 0, 2)) == .integer(2))  // 3000 B -> 2 KB
        #expect(tree.value(at: .resource(7, 0, 3)) == .integer(1))  // 1300 B -> 1 KB
        #expect(tree.value(at: .resource(7, 0, 4)) == .integer(3000))
        #expect(tree.value(at: .resource(7, 0, 5)) == .integer(1433))  // 4300 / 3
        try await tree.execute(.resource(7, 0, 7))
        #expect(!stats.isCollecting)
        stats.record(sentMessage: 9999)
        #expect(tree.value(at: .resource(7, 0, 4)) == .integer(3000))
        try await tree.execute(.resource(7, 0, 6))
        #expect(tree.value(at: .resource(7, 0, 0)) == .integer(0))
        #expect(tree.value(at: .resource(7, 0, 4)) == .integer(0))
    }

    @Test("Connectivity Statistics: the Collection Period stops collecting on the clock")
    func collectionPeriod() async throws {
        let clock = CoAPVirtualClock()
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        let stats = try LwM2MStandardObjects.installConnectivityStatistics(in: tree, clock: clock)
        try tree.write(.resource(.single(8, .integer(60))), at: .resource(7, 0, 8), replace: true)
        let started = clock.now
        stats.start()
        #expect(stats.isCollecting)
        // The period's timer is armed for exactly started + 60 s; the clock moves there only after it is (moving
        // it in steps meanwhile would let a loaded machine run virtual time past the period before the timer's
        // task reacts), then the test waits in real time, bounded, for collecting to stop.
        let end = started + .seconds(60)
        let realDeadline = ContinuousClock.now + .seconds(60)
        while !clock.pendingDeadlines.contains(end) {
            guard ContinuousClock.now < realDeadline else { throw TimeoutError() }
            await Task.yield()
        }
        clock.advance(to: end - .seconds(1))
        #expect(stats.isCollecting)
        clock.advance(to: end)
        while stats.isCollecting {
            guard ContinuousClock.now < realDeadline else { throw TimeoutError() }
            await Task.yield()
        }
        #expect(clock.now == end)
    }

    @Test("Location: a fix set by the app, read as floats and time; partial updates keep the rest")
    func location() throws {
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        try LwM2MStandardObjects.installLocation(in: tree, location: .init(
            latitude: 52.52, longitude: 13.405, altitude: 34, radius: 5, velocity: [0, 90, 0, 10], timestamp: 1_700_000_000))
        #expect(tree.value(at: .resource(6, 0, 0)) == .float(52.52))
        #expect(tree.value(at: .resource(6, 0, 1)) == .float(13.405))
        #expect(tree.value(at: .resource(6, 0, 2)) == .float(34))
        #expect(tree.value(at: .resource(6, 0, 3)) == .float(5))
        #expect(tree.value(at: .resource(6, 0, 4)) == .opaque([0, 90, 0, 10]))
        #expect(tree.value(at: .resource(6, 0, 5)) == .time(1_700_000_000))
        try LwM2MStandardObjects.updateLocation(.init(latitude: 48.1, longitude: 11.6, speed: 3.5, timestamp: 1_700_000_060), in: tree)
        #expect(tree.value(at: .resource(6, 0, 0)) == .float(48.1))
        #expect(tree.value(at: .resource(6, 0, 2)) == .float(34))
        #expect(tree.value(at: .resource(6, 0, 6)) == .float(3.5))
        #expect(tree.value(at: .resource(6, 0, 5)) == .time(1_700_000_060))
    }

    @Test("Location and connectivity read over the simulated network")
    func overNetwork() async throws {
        let f = try await ClientFixture()
        for id: UInt16 in [4, 6] { f.tree.addObject(LwM2MRegistry.builtIn.objectDefinition(id, version: nil)!) }
        try LwM2MStandardObjects.installLocation(in: f.tree, location: .init(latitude: 1.5, longitude: -2.25, timestamp: 10))
        try LwM2MStandardObjects.installConnectivityMonitoring(in: f.tree, info: .init(radioSignalStrength: -70))
        try await f.register()
        let links = String(buffer: f.server.messages[0].payload)
        #expect(links.contains("</4/0>"))
        #expect(links.contains("</6/0>"))
        let lat = try await f.request(.request(.get, path: "/6/0/1"))
        #expect(lat.code == .content)
        #expect(String(buffer: lat.payload) == "-2.25")
        let rss = try await f.request(.request(.get, path: "/4/0/2"))
        #expect(String(buffer: rss.payload) == "-70")
    }
}
