import LwM2MTestPKI
import ClientKit
import CoAPCore
import Codecs
import LwM2MModel
import NIOCore
import Synchronization
import Testing

private let temperature = LwM2MPath.resource(3303, 0, 5700)
private let codec = LwM2MCodec(definitions: TestDefinitions.registry)

extension ClientFixture {
    /// Stamps cache entries with the virtual clock (1_700_000_000 s at uptime 0).
    func virtualWallClock() {
        let clock = self.clock
        tree.timeSeries.setClock { 1_700_000_000 + Double(clock.now.uptimeNanoseconds) / 1e9 }
    }

    /// The virtual wall time now.
    var wallNow: Double { 1_700_000_000 + Double(clock.now.uptimeNanoseconds) / 1e9 }

    /// Steps the virtual clock by 100 ms (never past `limit`) until `done` holds; fails after 60 s of real time.
    func step(until limit: NIODeadline, _ done: () -> Bool) async throws {
        let realDeadline = ContinuousClock.now + .seconds(60)
        while !done() {
            guard ContinuousClock.now < realDeadline else { throw TimeoutError() }
            for _ in 0..<20 { await Task.yield() }
            if done() { break }
            let now = clock.now
            if now < limit { clock.advance(to: min(now + .milliseconds(100), limit)) }
        }
    }
}

@Suite("Client features: time series, queue mode")
struct ClientFeatureTests {
    @Test("cache PATH N: a SenML Read drains the timestamped values; a text Read leaves them")
    func cacheRead() async throws {
        let f = try await ClientFixture()
        try await f.register()
        f.virtualWallClock()
        let lines = Mutex<[String]>([])
        let shell = LwM2MClientShell(client: f.client, output: { line in lines.withLock { $0.append(line) } })
        _ = await shell.run("cache /3303/0/5700 4")
        _ = await shell.run("cache /3/0/0 4")
        #expect(lines.withLock { $0 }.first == "OK")
        #expect(lines.withLock { $0 }.last?.hasPrefix("ERROR") == true)
        var stamps: [Double] = []
        for v in [21.0, 22, 23] {
            stamps.append(f.wallNow)
            try f.sensor.record(v)
            f.clock.advance(by: .seconds(5))
        }
        let text = try await f.request(.request(.get, path: "/3303/0/5700"))
        #expect(String(buffer: text.payload) == "23.0")
        #expect(f.tree.timeSeries.entries(of: temperature).count == 3)

        var senml = CoAPMessage.request(.get, path: "/3303/0/5700")
        senml.accept = .senmlJSON
        let series = try await f.request(senml)
        #expect(series.contentFormat == .senmlJSON)
        let records = try codec.decode(records: Array(buffer: series.payload), as: .senmlJSON)
        #expect(records == zip([21.0, 22, 23], stamps).map {
            LwM2MRecord(path: temperature, value: .float($0), timestamp: $1)
        })
        // Drained: the next Read reports the current value only.
        let again = try codec.decode(records: Array(buffer: try await f.request(senml).payload), as: .senmlJSON)
        #expect(again == [LwM2MRecord(path: temperature, value: .float(23))])
    }

    @Test("Send: the cached values go out as timestamped SenML CBOR records and leave the cache")
    func cacheSend() async throws {
        let f = try await ClientFixture()
        try await f.register()
        f.virtualWallClock()
        try f.tree.enableCache(temperature, capacity: 10)
        let t = f.wallNow
        try f.sensor.record(30)
        f.clock.advance(by: .seconds(60))
        try f.sensor.record(31)
        let client = f.client
        let code = try await driving(f.clock) { try await client.send(paths: [temperature, .resource(3, 0, 9)]) }
        #expect(code == .changed)
        let send = f.server.messages.last!
        #expect(send.uriPath == ["dp"])
        let records = try codec.decode(records: Array(buffer: send.payload), as: .senmlCBOR)
        #expect(records.filter { $0.path == temperature } == [
            LwM2MRecord(path: temperature, value: .float(30), timestamp: t),
            LwM2MRecord(path: temperature, value: .float(31), timestamp: t + 60),
        ])
        // A record without a time after timestamped ones carries t = 0, SenML's "now" (RFC 8428 4.5.3).
        #expect(records.contains { $0.path == .resource(3, 0, 9) && ($0.timestamp ?? 0) == 0 })
        #expect(f.tree.timeSeries.entries(of: temperature).isEmpty)
    }

    @Test("Notify in SenML JSON: every value cached while pmin held the notification back goes out in it")
    func cacheNotify() async throws {
        let f = try await ClientFixture()
        try await f.register()
        f.virtualWallClock()
        try f.tree.enableCache(temperature, capacity: 10)
        #expect(try await f.request(.request(.put, path: "/3303/0/5700", query: ["pmin=10"])).code == .changed)
        var observe = CoAPMessage.request(.get, path: "/3303/0/5700")
        observe.observe = 0
        observe.accept = .senmlJSON
        let stream = await f.server.endpoint.responses(for: observe, to: f.client.endpoint.localAddress)
        let received = Mutex<[CoAPMessage]>([])
        let reader = Task { for try await m in stream { received.withLock { $0.append(m) } } }
        defer { reader.cancel() }
        let start = f.clock.now
        try await f.step(until: start) { received.withLock { $0.count } == 1 }
        let t = f.wallNow
        try f.sensor.record(24)
        f.clock.advance(by: .seconds(2))
        try f.sensor.record(25)
        f.clock.advance(by: .seconds(2))
        try f.sensor.record(26)
        try await f.step(until: start + .seconds(10)) { received.withLock { $0.count } == 2 }
        let notification = received.withLock { $0[1] }
        #expect(f.clock.now - start == .seconds(10))
        let records = try codec.decode(records: Array(buffer: notification.payload), as: .senmlJSON)
        #expect(records == [
            LwM2MRecord(path: temperature, value: .float(24), timestamp: t),
            LwM2MRecord(path: temperature, value: .float(25), timestamp: t + 2),
            LwM2MRecord(path: temperature, value: .float(26), timestamp: t + 4),
        ])
    }

    @Test("Queue mode: after the awake window the client drops the server's requests (RX off)")
    func rxOff() async throws {
        let f = try await ClientFixture(queueMode: true)
        try await f.register()
        #expect(f.client.endpoint.isReceiving)
        #expect(try await f.request(.request(.get, path: "/3/0/0")).code == .content)
        try await f.waitFor(.queueModeRxOff)
        #expect(!f.client.endpoint.isReceiving)
        await #expect(throws: CoAPExchangeError.self) { _ = try await f.request(.request(.get, path: "/3/0/0")) }
    }

    @Test("Queue mode: a Send while RX is off waits for the answer to the waking Update, then goes out")
    func sendWaitsForUpdate() async throws {
        let f = try await ClientFixture(queueMode: true)
        try await f.register()
        try await f.waitFor(.queueModeRxOff)
        f.network.conditions.latency = .seconds(1)
        let before = f.server.messages.count
        let client = f.client
        let send = Task { try await client.send(paths: [temperature]) }
        // Record when each message reaches the server.
        var arrivals: [(String, NIODeadline)] = []
        let start = f.clock.now
        try await f.step(until: start + .seconds(30)) {
            let messages = f.server.messages.dropFirst(before)
            for m in messages.dropFirst(arrivals.count) { arrivals.append((m.uriPathString, f.clock.now)) }
            return arrivals.count == 2
        }
        #expect(arrivals.map(\.0) == ["/rd/7", "/dp"])
        // The Update takes 1 s to the server and its answer 1 s back; only then does the Send leave (1 s more).
        #expect(arrivals[1].1 - arrivals[0].1 >= .seconds(2))
        #expect(arrivals[1].1 - start < .seconds(6))
        try await f.step(until: start + .seconds(30)) { f.log.count(of: .registrationUpdateComplete) == 1 }
        #expect(try await driving(f.clock) { try await send.value } == .changed)
        #expect(f.client.endpoint.isReceiving)
    }

    @Test("Queue mode: a notification due while RX is off goes out after the waking Update's answer")
    func notificationWaitsForUpdate() async throws {
        let f = try await ClientFixture(queueMode: true)
        try await f.register()
        var observe = CoAPMessage.request(.get, path: "/3303/0/5700")
        observe.observe = 0
        let stream = await f.server.endpoint.responses(for: observe, to: f.client.endpoint.localAddress)
        let received = Mutex<[(CoAPMessage, NIODeadline)]>([])
        let clock = f.clock
        let reader = Task { for try await m in stream { received.withLock { $0.append((m, clock.now)) } } }
        defer { reader.cancel() }
        try await f.step(until: f.clock.now) { received.withLock { $0.count } == 1 }
        try await f.waitFor(.queueModeRxOff)
        f.network.conditions.latency = .seconds(1)
        let before = f.server.messages.count
        let start = f.clock.now
        try f.sensor.record(35)
        var updateAt: NIODeadline?
        try await f.step(until: start + .seconds(30)) {
            if updateAt == nil && f.server.messages.count > before { updateAt = f.clock.now }
            return received.withLock { $0.count } == 2
        }
        let updates = f.server.messages.dropFirst(before)
        #expect(updates.map(\.uriPathString) == ["/rd/7"])
        let (notification, at) = received.withLock { $0[1] }
        #expect(String(buffer: notification.payload) == "35.0")
        // The Update reaches the server after 1 s of latency, its answer the client 1 s later, and the notification
        // the server 1 s after that: never before the Update's round trip (a loaded machine may add a step or two).
        let update = try #require(updateAt)
        #expect(at - update >= .seconds(2))
        #expect(at - start < .seconds(6))
    }

    @Test("The docs/ClientKit.md time-series example sends two timestamped records")
    func docExample() async throws {
        let f = try await ClientFixture()
        try await f.register()
        let (tree, sensor, client) = (f.tree, f.sensor, f.client)
        // --- as in docs/ClientKit.md (the Send driven on the virtual clock) ---
        try tree.enableCache(.resource(3303, 0, 5700), capacity: 10, policy: .dropOldest)
        try sensor.record(21.0)
        try sensor.record(21.4)
        let code = try await driving(f.clock) { try await client.send(paths: [.resource(3303, 0, 5700)]) }
        for o in await client.activeObservations where o.compositePaths != nil { print(o.compositePaths!, o.attributes) }
        // ---
        #expect(code == .changed)
        let records = try codec.decode(records: Array(buffer: f.server.messages.last!.payload), as: .senmlCBOR)
        #expect(records.map(\.value) == [.float(21.0), .float(21.4)])
        #expect(records.allSatisfy { $0.timestamp != nil })
    }
}
