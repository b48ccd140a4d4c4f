import LwM2MModel
import Synchronization
import Testing

@testable import ClientKit

private let temperature = LwM2MPath.resource(3303, 0, 5700)

/// A settable clock for cache timestamps.
final class FakeWallClock: Sendable {
    let seconds = Mutex<Double>(1_700_000_000)
    var function: @Sendable () -> Double { { [self] in seconds.withLock { $0 } } }
    func advance(_ by: Double) { seconds.withLock { $0 += by } }
}

@Suite("Time-series cache")
struct TimeSeriesCacheTests {
    @Test("A bounded ring: Zephyr's drop-newest when full, or drop-oldest; drain empties it")
    func ring() {
        let clock = FakeWallClock()
        let cache = LwM2MTimeSeriesCache(clock: clock.function)
        #expect(!cache.record(temperature, .float(1)))  // not enabled
        cache.enable(temperature, capacity: 3)
        for v in 1...5 {
            cache.record(temperature, .float(Double(v)))
            clock.advance(10)
        }
        #expect(cache.entries(of: temperature).map(\.value) == [.float(1), .float(2), .float(3)])
        #expect(cache.entries(of: temperature).map(\.timestamp) == [1_700_000_000, 1_700_000_010, 1_700_000_020])
        #expect(cache.droppedCount(of: temperature) == 2)
        #expect(cache.drain(temperature).count == 3)
        #expect(cache.entries(of: temperature).isEmpty)

        cache.enable(temperature, capacity: 3, policy: .dropOldest)
        for v in 1...5 { cache.record(temperature, .float(Double(v))) }
        #expect(cache.drain(temperature).map(\.value) == [.float(3), .float(4), .float(5)])
        cache.enable(temperature, capacity: 0)
        #expect(cache.paths.isEmpty)
    }

    @Test("drainingTimeSeries replaces only cached resources that hold entries, oldest first")
    func draining() {
        let clock = FakeWallClock()
        let cache = LwM2MTimeSeriesCache(clock: clock.function)
        cache.enable(temperature, capacity: 4)
        cache.enable(.resource(3303, 0, 5601), capacity: 4)
        cache.record(temperature, .float(20))
        clock.advance(1)
        cache.record(temperature, .float(21))
        #expect(cache.hasEntries(under: .instance(3303, 0)))
        #expect(!cache.hasEntries(under: .object(3)))
        let records = [
            LwM2MRecord(path: temperature, value: .float(21)),
            LwM2MRecord(path: .resource(3303, 0, 5601), value: .float(19)),
        ]
        #expect(cache.drainingTimeSeries(records) == [
            LwM2MRecord(path: temperature, value: .float(20), timestamp: 1_700_000_000),
            LwM2MRecord(path: temperature, value: .float(21), timestamp: 1_700_000_001),
            LwM2MRecord(path: .resource(3303, 0, 5601), value: .float(19)),
        ])
        #expect(cache.drainingTimeSeries(records) == records)
    }

    @Test("enableCache: fixed-size single resources only; set() feeds the cache with the stored type")
    func treeIntegration() throws {
        let tree = LwM2MObjectTree(definitions: TestDefinitions.registry)
        try LwM2MStandardObjects.installDevice(in: tree)
        let sensor = try LwM2MTemperatureSensor(tree: tree, initial: 20)
        try tree.enableCache(temperature, capacity: 8)
        #expect(throws: LwM2MClientError.self) { try tree.enableCache(.resource(3, 0, 0), capacity: 4) }  // string
        #expect(throws: LwM2MClientError.self) { try tree.enableCache(.resource(3, 0, 7), capacity: 4) }  // multiple
        #expect(throws: LwM2MClientError.self) { try tree.enableCache(.instance(3303, 0), capacity: 4) }
        #expect(throws: LwM2MClientError.self) { try tree.enableCache(temperature, capacity: -1) }
        try sensor.record(21.5)
        try tree.set(temperature, .integer(22))
        #expect(tree.timeSeries.entries(of: temperature).map(\.value) == [.float(21.5), .float(22)])
    }
}
