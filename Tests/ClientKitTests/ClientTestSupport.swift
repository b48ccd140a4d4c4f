import ClientKit
import CoAPCore
import LwM2MModel
import NIOCore
import Synchronization
import Testing
import LwM2MTestPKI



/// A scripted LwM2M server on the simulated network: accepts Register/Update/De-register on `/rd`, records
/// them, receives Send on `/dp` and notifications for its observations.
final class ScriptedServer: Sendable {
    final class State: Sendable {
        let received = Mutex<[CoAPMessage]>([])
        let registerCode = Mutex<CoAPCode>(.created)
    }

    let endpoint: CoAPEndpoint
    let state = State()

    init(network: CoAPSimulatedNetwork) async {
        endpoint = CoAPEndpoint(transport: network.makeTransport(), clock: network.clock)
        let received = state
        let registerCode = state
        await endpoint.register("/rd", matchesSubpaths: true) { request in
            received.received.withLock { $0.append(request.message) }
            switch (request.method, request.path.count) {
            case (.post, 1):
                var response = CoAPMessage.response(registerCode.registerCode.withLock { $0 })
                response.locationPath = ["rd", "7"]
                return response
            case (.post, _): return .response(.changed)
            case (.delete, _): return .response(.deleted)
            default: throw CoAPError.methodNotAllowed()
            }
        }
        await endpoint.register("/dp") { request in
            received.received.withLock { $0.append(request.message) }
            return .response(.changed)
        }
    }

    var address: SocketAddress { endpoint.localAddress }
    var messages: [CoAPMessage] { state.received.withLock { $0 } }
}

/// A client with Security, Server, Device and a temperature sensor on the simulated network.
struct ClientFixture {
    let clock: CoAPVirtualClock
    let network: CoAPSimulatedNetwork
    let server: ScriptedServer
    let tree: LwM2MObjectTree
    let sensor: LwM2MTemperatureSensor
    let client: LwM2MClient
    let log: EventLog

    init(version: LwM2MEnablerVersion = .v1_1, lifetime: UInt32 = 300, queueMode: Bool = false) async throws {
        clock = CoAPVirtualClock()
        network = CoAPSimulatedNetwork(clock: clock)
        server = await ScriptedServer(network: network)
        tree = LwM2MObjectTree(definitions: TestDefinitions.registry)
        try LwM2MStandardObjects.installSecurity(in: tree, serverURI: "coap://10.0.0.1:5683", shortServerID: 1)
        try LwM2MStandardObjects.installServer(in: tree, shortServerID: 1, lifetime: lifetime)
        try LwM2MStandardObjects.installDevice(in: tree)
        sensor = try LwM2MTemperatureSensor(tree: tree, initial: 20)
        let endpoint = CoAPEndpoint(transport: network.makeTransport(), clock: clock)
        client = LwM2MClient(
            configuration: .init(
                registration: .init(endpointName: "dev1", lifetime: lifetime, version: version, queueMode: queueMode),
                server: server.address),
            tree: tree, endpoint: endpoint)
        log = EventLog(client)
    }

    /// Starts the client and waits for REGISTRATION_COMPLETE.
    func register() async throws {
        await client.start()
        try await waitFor(.registrationComplete)
    }

    /// Advances the virtual clock until `event` was emitted `count` times in total.
    func waitFor(_ event: LwM2MRDClientEvent, count: Int = 1, maxVirtual: TimeAmount = .seconds(3600)) async throws {
        let log = self.log
        try await driving(clock, maxVirtual: maxVirtual) {
            while log.count(of: event) < count {
                try Task.checkCancellation()
                await Task.yield()
            }
        }
    }

    /// Sends `message` from the server to the client, advancing the virtual clock as needed.
    func request(_ message: CoAPMessage) async throws -> CoAPMessage {
        let endpoint = server.endpoint
        let to = client.endpoint.localAddress
        return try await driving(clock) { try await endpoint.request(message, to: to) }
    }
}

/// Records every registration event of a client.
final class EventLog: Sendable {
    let events = Mutex<[LwM2MRDClientEvent]>([])

    init(_ client: LwM2MClient) {
        Task { [self] in for await e in client.events { self.events.withLock { $0.append(e) } } }
    }

    func count(of event: LwM2MRDClientEvent) -> Int { events.withLock { $0.filter { $0 == event }.count } }
    var all: [LwM2MRDClientEvent] { events.withLock { $0 } }
}
