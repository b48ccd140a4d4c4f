import ClientKit
import CoAPCore
import LwM2MModel
import NIOCore
import Testing

@Suite("docs/ClientKit.md example")
struct DocExampleTests {
    @Test("The README example registers with the built-in registry's objects")
    func example() async throws {
        let clock = CoAPVirtualClock()
        let network = CoAPSimulatedNetwork(clock: clock)
        let scripted = await ScriptedServer(network: network)
        let transport = network.makeTransport()
        // --- as in docs/ClientKit.md (UDP transport and server address replaced by the simulated ones) ---
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        try LwM2MStandardObjects.installServer(in: tree, shortServerID: 1, lifetime: 300)
        try LwM2MStandardObjects.installDevice(in: tree)
        let sensor = try LwM2MTemperatureSensor(tree: tree)
        let client = LwM2MClient(
            configuration: .init(
                registration: .init(endpointName: "dev1", lifetime: 300),
                server: scripted.address),
            tree: tree, endpoint: CoAPEndpoint(transport: transport, clock: clock))
        await client.start()
        try sensor.record(23.5)
        // ---
        let log = EventLog(client)
        try await driving(clock) {
            while log.count(of: .registrationComplete) < 1 {
                try Task.checkCancellation()
                await Task.yield()
            }
        }
        #expect(String(buffer: scripted.messages[0].payload).hasPrefix("</1>;ver=1.1,</1/0>,</3>;ver="))
        #expect(tree.value(at: .resource(3303, 0, 5700)) == .float(23.5))
    }
}
