import LwM2MTestPKI
import ClientKit
import CoAPCore
import Codecs
import LwM2MModel
import NIOCore
import ServerKit
import Synchronization
import Testing



/// Waits in real time (the virtual clock does not move) until `condition` holds; throws `TimeoutError` after
/// `seconds`. Tests use it to let the code under test catch up (arm a timer, deliver a datagram) before they move
/// the clock themselves, so that no amount of scheduling delay can let the clock run ahead of the code.
func eventually(
    seconds: Double = 60, _ condition: @escaping @Sendable () async -> Bool
) async throws {
    try await withTimeout(seconds: seconds) {
        while await !condition() {
            try Task.checkCancellation()
            await Task.yield()
        }
    }
}

/// Everything a stream delivered, in order.
final class Recorder<Element: Sendable>: Sendable {
    let items = Mutex<[Element]>([])

    init(_ stream: AsyncStream<Element>) {
        Task { [self] in for await e in stream { self.items.withLock { $0.append(e) } } }
    }

    var all: [Element] { items.withLock { $0 } }
}

/// An `LwM2MServer` and an `LwM2MClient` (Security, Server, Device, a temperature sensor) on one simulated network
/// with a virtual clock.
struct Pair {
    let clock: CoAPVirtualClock
    let network: CoAPSimulatedNetwork
    let server: LwM2MServer
    let serverEvents: Recorder<LwM2MServerEvent>
    let tree: LwM2MObjectTree
    let sensor: LwM2MTemperatureSensor
    let client: LwM2MClient
    let endpoint = "e2e-mem"

    init(lifetime: UInt32 = 300) async throws {
        clock = CoAPVirtualClock()
        network = CoAPSimulatedNetwork(clock: clock)
        let registry = LwM2MRegistry.builtIn
        server = LwM2MServer(
            transport: network.makeTransport(), definitions: registry, codec: LwM2MCodec(definitions: registry),
            clock: clock)
        serverEvents = Recorder(server.events)
        await server.start()
        tree = LwM2MObjectTree(definitions: registry)
        try LwM2MStandardObjects.installSecurity(in: tree, serverURI: "coap://10.0.0.1:5683", shortServerID: 1)
        try LwM2MStandardObjects.installServer(in: tree, shortServerID: 1, lifetime: lifetime)
        try LwM2MStandardObjects.installDevice(in: tree)
        sensor = try LwM2MTemperatureSensor(tree: tree, initial: 20)
        client = LwM2MClient(
            configuration: .init(
                registration: .init(endpointName: endpoint, lifetime: lifetime), server: server.localAddress),
            tree: tree, endpoint: CoAPEndpoint(transport: network.makeTransport(), clock: clock))
    }

    /// Runs `body` on the virtual clock.
    @discardableResult
    func run<T: Sendable>(
        maxVirtual: TimeAmount = .seconds(600), _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await driving(clock, maxVirtual: maxVirtual, body)
    }

    /// Advances the virtual clock until a server event matching `match` arrived after the first `skip` events.
    @discardableResult
    func serverEvent(
        after skip: Int = 0, maxVirtual: TimeAmount = .seconds(600), _ match: @escaping @Sendable (LwM2MServerEvent) -> Bool
    ) async throws -> LwM2MServerEvent {
        let events = serverEvents
        return try await run(maxVirtual: maxVirtual) {
            while true {
                try Task.checkCancellation()
                if let e = events.all.dropFirst(skip).first(where: match) { return e }
                await Task.yield()
            }
        }
    }

    /// Starts the client and waits for the server's `registered` event.
    @discardableResult
    func register() async throws -> Registration {
        await client.start()
        let event = try await serverEvent { if case .registered = $0 { true } else { false } }
        guard case .registered(let registration, _) = event else { throw TimeoutError() }
        return registration
    }
}

extension LwM2MNode {
    /// The single value of a resource node.
    var singleValue: LwM2MValue? {
        switch self {
        case .resource(let r): return r.value
        case .resourceInstance(let ri): return ri.value
        default: return nil
        }
    }
}
