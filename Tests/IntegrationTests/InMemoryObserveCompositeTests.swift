import ClientKit
import CoAPCore
import LwM2MModel
import NIOCore
import ServerKit
import Synchronization
import Testing

private let temperature = LwM2MPath.resource(3303, 0, 5700)
private let battery = LwM2MPath.resource(3, 0, 9)

/// ServerKit's Observe-Composite against ClientKit's, plus evaluation periods and time series, in memory.
@Suite("Observe-Composite, epmax and time series: ServerKit <-> ClientKit in memory")
struct InMemoryObserveCompositeTests {
    @Test("Observe-Composite: the response and each notification carry every path; active cancel ends it on both sides")
    func compositeActiveCancel() async throws {
        let pair = try await Pair()
        try await pair.register()
        let (server, ep, client) = (pair.server, pair.endpoint, pair.client)
        let (observation, first) = try await pair.run {
            try await server.observeComposite(endpoint: ep, paths: [temperature, battery])
        }
        #expect(first.contains(LwM2MRecord(path: temperature, value: .float(20))))
        #expect(first.contains { $0.path == battery })
        #expect(await client.activeObservations.first?.compositePaths == [temperature, battery])

        let before = pair.serverEvents.all.count
        try pair.sensor.record(27.5)
        let event = try await pair.serverEvent(after: before) { if case .notification = $0 { true } else { false } }
        guard case .notification(let n) = event, case .records(let records) = n.content else {
            Issue.record("expected a composite notification, got \(event)")
            return
        }
        #expect(n.observation.token == observation.token)
        #expect(records.contains(LwM2MRecord(path: temperature, value: .float(27.5))))
        #expect(records.contains { $0.path == battery })

        #expect(try await pair.run { try await server.cancelCompositeObservation(endpoint: ep, paths: [temperature, battery]) } == 1)
        #expect(await client.activeObservations.isEmpty)
    }

    @Test("Observe-Composite passive cancel: the client drops the observation at the RST to its next notification")
    func compositePassiveCancel() async throws {
        let pair = try await Pair()
        try await pair.register()
        let (server, ep, client) = (pair.server, pair.endpoint, pair.client)
        _ = try await pair.run { try await server.observeComposite(endpoint: ep, paths: [temperature, battery]) }
        _ = try await pair.run {
            try await server.cancelCompositeObservation(endpoint: ep, paths: [temperature, battery], active: false)
        }
        #expect(await client.activeObservations.count == 1)
        try pair.sensor.record(12)
        try await pair.run(maxVirtual: .seconds(120)) {
            while await !client.activeObservations.isEmpty { try Task.checkCancellation(); await Task.yield() }
        }
        #expect(await client.activeObservations.isEmpty)
    }

    @Test("epmax: a value behind a read callback (no change reports) is sampled and notified when it moved")
    func epmaxSamplesCallbackValue() async throws {
        let pair = try await Pair()
        let level = Mutex<Int64>(80)
        pair.tree.onRead(3, 0, 9) { _ in .integer(level.withLock { $0 }) }
        try await pair.register()
        let (server, ep) = (pair.server, pair.endpoint)
        try await pair.run { try await server.writeAttributes(endpoint: ep, path: battery, attributes: ["epmax=20"]) }
        let (observation, first) = try await pair.run { try await server.observe(endpoint: ep, path: battery) }
        #expect(first.singleValue == .integer(80))
        let notifications = Recorder(await server.notifications(of: observation))
        level.withLock { $0 = 71 }
        _ = try await pair.run(maxVirtual: .seconds(60)) {
            while notifications.all.isEmpty { try Task.checkCancellation(); await Task.yield() }
        }
        let n = notifications.all[0]
        #expect(n.content == .node(battery, .resource(.single(9, .integer(71)))))
        // Sampled at the end of the 20 s evaluation period (within a step of the driving loop).
        #expect(n.receivedAt - observation.createdAt >= .milliseconds(19_500))
        #expect(n.receivedAt - observation.createdAt < .seconds(23))
        #expect(notifications.all.count == 1)
    }

    @Test("Time series: a composite notification in SenML CBOR carries every value cached while pmin held it")
    func compositeTimeSeries() async throws {
        let pair = try await Pair()
        try await pair.register()
        let (server, ep, tree) = (pair.server, pair.endpoint, pair.tree)
        let clock = pair.clock
        tree.timeSeries.setClock { 1_700_000_000 + Double(clock.now.uptimeNanoseconds) / 1e9 }
        try tree.enableCache(temperature, capacity: 8)
        try await pair.run { try await server.writeAttributes(endpoint: ep, path: temperature, attributes: ["pmin=5"]) }
        let (observation, _) = try await pair.run {
            try await server.observeComposite(endpoint: ep, paths: [temperature, battery], format: .senmlCBOR)
        }
        let notifications = Recorder(await server.notifications(of: observation))
        for v in [21.0, 22, 23] { try pair.sensor.record(v) }
        _ = try await pair.run(maxVirtual: .seconds(60)) {
            while notifications.all.isEmpty { try Task.checkCancellation(); await Task.yield() }
        }
        guard case .records(let records) = notifications.all[0].content else {
            Issue.record("expected records")
            return
        }
        let series = records.filter { $0.path == temperature }
        #expect(series.map(\.value) == [.float(21), .float(22), .float(23)])
        #expect(series.allSatisfy { ($0.timestamp ?? 0) > 1_700_000_000 })
        #expect(tree.timeSeries.entries(of: temperature).isEmpty)
    }
}
