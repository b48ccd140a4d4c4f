import ClientKit
import CoAPCore
import DTLSTransport
import LwM2MModel
import NIOCore
import Testing
import LwM2MTestPKI

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

    @Test("The firmware update example: push an image through the client, then Update")
    func firmwareExample() async throws {
        let clock = CoAPVirtualClock()
        let network = CoAPSimulatedNetwork(clock: clock)
        let scripted = await ScriptedServer(network: network)
        let transport = network.makeTransport()
        // --- as in docs/ClientKit.md (clock and server address replaced by the simulated ones) ---
        let endpoint = CoAPEndpoint(transport: transport, clock: clock)
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        try LwM2MStandardObjects.installServer(in: tree, shortServerID: 1, lifetime: 300)
        try LwM2MStandardObjects.installDevice(in: tree)
        let firmware = try LwM2MStandardObjects.installFirmwareUpdate(
            in: tree, endpoint: endpoint,  // the endpoint pulls images from Package URIs
            validate: { image in
                guard image.starts(with: Array("FW01".utf8)) else { throw LwM2MFirmwareUpdate.Failure(.unsupportedPackageType) }
            },
            update: { image in print("installing \(image.count) bytes") })
        let client = LwM2MClient(
            configuration: .init(
                registration: .init(endpointName: "dev1", lifetime: 300),
                server: scripted.address),
            tree: tree, endpoint: endpoint)
        await client.start()
        // ---
        let server = scripted.endpoint
        let to = endpoint.localAddress
        func request(_ m: CoAPMessage) async throws -> CoAPMessage {
            try await driving(clock) { try await server.request(m, to: to) }
        }
        let bad = CoAPMessage.request(.put, path: "/5/0/0", payload: ByteBuffer(string: "XX"), contentFormat: .octetStream)
        #expect(try await request(bad).code == .changed)
        try await driving(clock) { await firmware.settle() }
        #expect(firmware.state == .idle)
        #expect(firmware.result == .unsupportedPackageType)
        let good = CoAPMessage.request(
            .put, path: "/5/0/0", payload: ByteBuffer(string: "FW01" + String(repeating: "x", count: 3000)),
            contentFormat: .octetStream)
        #expect(try await request(good).code == .changed)
        try await driving(clock) { await firmware.settle() }
        #expect(firmware.state == .downloaded)
        #expect(try await request(.request(.post, path: "/5/0/2")).code == .changed)
        try await driving(clock) { await firmware.settle() }
        #expect(firmware.state == .idle)
        #expect(firmware.result == .success)
    }
}

@Suite("docs/ClientKit.md multi-server example")
struct MultiServerDocExampleTests {
    @Test("The several-servers example builds two accounts with Access Control")
    func example() async throws {
        // --- as in docs/ClientKit.md (not started: it would dial the real ports) ---
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        // Server 1 over DTLS with a pre-shared key, server 2 over plain CoAP.
        try LwM2MStandardObjects.installSecurity(
            in: tree, instanceID: 0, serverURI: "coaps://127.0.0.1:5684", shortServerID: 1, mode: .preSharedKey,
            publicKeyOrIdentity: Array("dev1".utf8), secretKey: Array("secret-key-dev1!".utf8))
        try LwM2MStandardObjects.installServer(in: tree, instanceID: 0, shortServerID: 1, lifetime: 300)
        try LwM2MStandardObjects.installSecurity(in: tree, instanceID: 1, serverURI: "coap://127.0.0.1:5683", shortServerID: 2)
        try LwM2MStandardObjects.installServer(in: tree, instanceID: 1, shortServerID: 2, lifetime: 300)
        try LwM2MStandardObjects.installDevice(in: tree)
        // Server 1 owns everything; server 2 may read and execute.
        try LwM2MStandardObjects.installAccessControl(in: tree, owner: 1, defaultRights: [.read, .execute])

        let runtime = LwM2MClientRuntime(
            configuration: .init(registration: .init(endpointName: "dev1", lifetime: 300)), tree: tree,
            transports: LwM2MNetworkTransportFactory())
        // ---
        let accounts = LwM2MServerAccount.accounts(in: tree)
        #expect(accounts.map(\.shortServerID) == [1, 2])
        #expect(accounts[0].securityMode == .preSharedKey)
        let factory = LwM2MNetworkTransportFactory()
        #expect(try factory.dtlsConfiguration(for: accounts[0]).pskClientCredentials?.identity == "dev1")
        #expect(LwM2MAccessControl(tree: tree, shortServerID: 2).rights(objectID: 3, instanceID: 0) == [.read, .execute])
        #expect(LwM2MAccessControl(tree: tree, shortServerID: 2).rights(objectID: 1, instanceID: 1) == .owner)
        #expect(await runtime.accounts.isEmpty)
    }
}
