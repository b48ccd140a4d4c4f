import Benchmark
import BenchmarkSupport
import ClientKit
import CoAPCore
import Codecs
import LwM2MModel
import NIOCore
import ServerKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// How many simulated LwM2M clients (ClientKit's full stack: object tree with Security, Server, Device and a
// temperature sensor, registration engine, CoAP endpoint) one process holds registered against one ServerKit server
// on the simulated network, and what each costs in memory.

let registry = LwM2MRegistry.builtIn

/// One server and its clients on a simulated network with a virtual clock.
final class World: Sendable {
    let clock = CoAPVirtualClock()
    let network: CoAPSimulatedNetwork
    let server: LwM2MServer
    let registered = Mutex(0)

    init() async {
        network = CoAPSimulatedNetwork(clock: clock)
        var configuration = LwM2MServer.Configuration()
        configuration.registration.registerRateLimit = nil
        server = LwM2MServer(
            transport: network.makeTransport(), definitions: registry, codec: LwM2MCodec(definitions: registry),
            configuration: configuration, clock: clock)
        await server.start()
        let events = server.events
        Task { [self] in
            for await event in events {
                if case .registered = event { registered.withLock { $0 += 1 } }
            }
        }
    }

    /// A client `k` with its own tree and endpoint (not yet started).
    func makeClient(_ k: Int) throws -> LwM2MClient {
        let tree = LwM2MObjectTree(definitions: registry)
        try LwM2MStandardObjects.installSecurity(in: tree, serverURI: "coap://10.0.0.1:5683", shortServerID: 1)
        try LwM2MStandardObjects.installServer(in: tree, shortServerID: 1, lifetime: 86_400)
        try LwM2MStandardObjects.installDevice(in: tree)
        _ = try LwM2MTemperatureSensor(tree: tree, initial: 20)
        return LwM2MClient(
            configuration: .init(
                registration: .init(endpointName: "urn:imei:35907206\(1_000_000 + k)", lifetime: 86_400),
                server: server.localAddress),
            tree: tree, endpoint: CoAPEndpoint(transport: network.makeTransport(), clock: clock))
    }

    /// Starts `clients` and runs the virtual clock (10 ms steps) until the server has registered `total`.
    func register(_ clients: [LwM2MClient], total: Int) async {
        for client in clients { await client.start() }
        while registered.withLock({ $0 }) < total {
            for _ in 0..<50 { await Task.yield() }
            if registered.withLock({ $0 }) >= total { break }
            clock.advance(by: .milliseconds(10))
        }
    }

    func close(_ clients: [LwM2MClient]) async {
        for client in clients { await client.close() }
        await server.close()
    }
}

let bytesPerClient = BenchmarkMetric.custom("resident bytes per registered client", useScalingFactor: false)
let clientsRegistered = BenchmarkMetric.custom("clients registered", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 0,
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 5
    )

    // Each sample builds a world of 1,000 clients (outside the measurement) and measures starting them until the
    // server has registered all of them: Register over the simulated network, the server's handling, the answer.
    Benchmark("Register 1k clients with one server (simulated network)") { benchmark in
        let world = await World()
        let clients = try (0..<1000).map { try world.makeClient($0) }
        benchmark.startMeasurement()
        await world.register(clients, total: clients.count)
        benchmark.stopMeasurement()
        blackHole(clients)
        await world.close(clients)
    }

    // 20,000 clients registered at once in one process: the resident memory they add (client stack and the server's
    // registration each), divided by their number.
    Benchmark(
        "Memory per registered client (20k clients, one server)",
        configuration: .init(
            metrics: [bytesPerClient, clientsRegistered], warmupIterations: 0, scalingFactor: .one, maxIterations: 1)
    ) { benchmark in
        let count = 20_000
        let world = await World()
        let before = residentMemory()
        var clients: [LwM2MClient] = []
        clients.reserveCapacity(count)
        for k in 0..<count { clients.append(try world.makeClient(k)) }
        await world.register(clients, total: count)
        let after = residentMemory()
        benchmark.measurement(bytesPerClient, (after - before) / count)
        benchmark.measurement(clientsRegistered, world.registered.withLock { $0 })
        blackHole(clients)
        await world.close(clients)
    }
}
