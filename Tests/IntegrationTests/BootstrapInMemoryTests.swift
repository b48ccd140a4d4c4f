import BootstrapKit
import ClientKit
import CoAPCore
import Codecs
import LwM2MModel
import NIOCore
import ServerKit
import Testing
import LwM2MTestPKI

/// ClientKit's `LwM2MBootstrapClient` bootstrapped by BootstrapKit's `LwM2MBootstrapServer`, then registering
/// with ServerKit's `LwM2MServer`, on the simulated network with a virtual clock.
@Suite("ClientKit bootstrap <-> BootstrapKit <-> ServerKit in memory")
struct BootstrapInMemoryTests {
    struct Setup {
        let clock = CoAPVirtualClock()
        let network: CoAPSimulatedNetwork
        let server: LwM2MServer
        let serverEvents: Recorder<LwM2MServerEvent>
        let bootstrapServer: LwM2MBootstrapServer
        let bootstrapEvents: Recorder<LwM2MBootstrapEvent>
        let tree: LwM2MObjectTree
        let endpoint: CoAPEndpoint
        let bootstrap: LwM2MBootstrapClient
        let clientEvents: Recorder<LwM2MRDClientEvent>

        init(configuration: (String) -> LwM2MBootstrapConfiguration, version: LwM2MEnablerVersion = .v1_1) async throws {
            network = CoAPSimulatedNetwork(clock: clock)
            let registry = LwM2MRegistry.builtIn
            server = LwM2MServer(
                transport: network.makeTransport(), definitions: registry, codec: LwM2MCodec(definitions: registry),
                clock: clock)
            serverEvents = Recorder(server.events)
            await server.start()
            let dm = server.localAddress
            let store = LwM2MInMemoryBootstrapConfigurationStore(default: configuration("coap://\(dm.ipAddress!):\(dm.port!)"))
            bootstrapServer = LwM2MBootstrapServer(
                endpoint: CoAPEndpoint(transport: network.makeTransport(), clock: clock), store: store)
            bootstrapEvents = Recorder(bootstrapServer.events)
            await bootstrapServer.start()
            let bs = bootstrapServer.endpoint.localAddress
            tree = LwM2MObjectTree(definitions: registry)
            try LwM2MStandardObjects.installSecurity(
                in: tree, instanceID: 0, serverURI: "coap://\(bs.ipAddress!):\(bs.port!)", shortServerID: 0,
                isBootstrapServer: true)
            try tree.addObject(1)
            try LwM2MStandardObjects.installDevice(in: tree)
            _ = try LwM2MTemperatureSensor(tree: tree)
            endpoint = CoAPEndpoint(transport: network.makeTransport(), clock: clock)
            bootstrap = LwM2MBootstrapClient(
                configuration: .init(endpointName: "bs-mem", version: version, preferredFormat: version == .v1_1 ? .senmlCBOR : nil),
                tree: tree, endpoint: endpoint)
            clientEvents = Recorder(bootstrap.events)
        }

        func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
            try await driving(clock, maxVirtual: .seconds(900), body)
        }

        /// Bootstraps, then starts an `LwM2MClient` for the account written and waits for `registered`.
        func bootstrapAndRegister() async throws -> (LwM2MClient, Registration) {
            let bootstrap = self.bootstrap
            #expect(try await run { try await bootstrap.bootstrap() })
            let configuration = try #require(
                try await bootstrap.clientConfiguration(registration: .init(endpointName: "bs-mem", version: .v1_1)))
            let client = LwM2MClient(configuration: configuration, tree: tree, endpoint: endpoint)
            await client.start()
            let events = serverEvents
            let registration = try await run { () async throws -> Registration in
                while true {
                    try Task.checkCancellation()
                    for case .registered(let r, _) in events.all { return r }
                    await Task.yield()
                }
            }
            return (client, registration)
        }
    }

    @Test("NoSec: bootstrap with SenML CBOR, then Register with the account and lifetime the bootstrap server wrote")
    func noSec() async throws {
        let s = try await Setup(configuration: { .noSec(serverURI: $0, lifetime: 120, shortServerID: 7) })
        let (client, registration) = try await s.bootstrapAndRegister()
        defer { withExtendedLifetime(client) {} }
        #expect(registration.endpoint == "bs-mem")
        #expect(registration.lifetime == 120)
        #expect(registration.object(1)?.instances == [0])
        #expect(s.clientEvents.all == [.bootstrapRegistrationComplete, .bootstrapTransferComplete])
        // The bootstrap account survived the Bootstrap-Delete of /0; the new account is /0/1 + /1/0 (ssid 7).
        #expect(s.tree.bootstrapSecurityInstance == 0)
        #expect(s.tree.value(at: .resource(1, 0, 0)) == .integer(7))
        #expect(s.tree.instanceIDs(of: 0) == [0, 1])
        let bootstrapEvents = s.bootstrapEvents
        try await s.run {
            while !bootstrapEvents.all.contains(where: { if case .finished = $0 { true } else { false } }) {
                try Task.checkCancellation()
                await Task.yield()
            }
        }
        let session = s.bootstrapEvents.all.first { if case .started = $0 { true } else { false } }
        #expect(session != nil)
        // The server reads what the bootstrap server wrote, through the DM interface.
        let server = s.server
        let lifetime = try await s.run { try await server.read(endpoint: "bs-mem", path: .resource(1, 0, 1)) }
        #expect(lifetime.singleValue == .integer(120))
        // The DM server cannot use the Bootstrap Interface: its Finish is refused.
        let bs = try await s.run { try await server.endpoint.request(.request(.post, path: "/bs"), to: s.endpoint.localAddress) }
        #expect(bs.code == .unauthorized)
    }

    @Test("Discover and Read first: the session finds the bootstrap account in the client's Discover and spares it")
    func discoverAndRead() async throws {
        let s = try await Setup(configuration: { uri in
            var c = LwM2MBootstrapConfiguration.noSec(serverURI: uri, lifetime: 100, shortServerID: 6)
            c.discover = true
            c.read = [.object(1)]
            c.delete = [.instance(0, 0), .object(1)]  // /0/0 is the client's bootstrap account
            return c
        })
        let (client, registration) = try await s.bootstrapAndRegister()
        defer { withExtendedLifetime(client) {} }
        #expect(registration.lifetime == 100)
        #expect(s.tree.bootstrapSecurityInstance == 0)
        let bootstrapEvents = s.bootstrapEvents
        let result = try await s.run { () async throws -> LwM2MBootstrapResult in
            while true {
                try Task.checkCancellation()
                for case .finished(let r) in bootstrapEvents.all { return r }
                await Task.yield()
            }
        }
        #expect(result.discovered?.hasPrefix("</>;lwm2m=1.1,</0>;ver=1.1,</0/0>;uri=") == true)
        #expect(result.reads[.object(1)] != nil)
        #expect(!result.steps.contains(.delete(.instance(0, 0))))
    }

    @Test("LwM2M 1.0 client: no pct, TLV writes, same result")
    func tlv() async throws {
        let s = try await Setup(configuration: { .noSec(serverURI: $0, lifetime: 90) }, version: .v1_0)
        let (_, registration) = try await s.bootstrapAndRegister()
        #expect(registration.lifetime == 90)
        let writeSteps = s.bootstrapEvents.all.filter { if case .step(_, .write, _) = $0 { true } else { false } }
        #expect(writeSteps.count == 2)
    }

    @Test("a configuration the client cannot use: Finish gets 4.06, the session fails, the client stays in bootstrap")
    func inconsistent() async throws {
        // A Server account whose Security instance has another Short Server ID.
        let s = try await Setup(configuration: { uri in
            var c = LwM2MBootstrapConfiguration.noSec(serverURI: uri, lifetime: 60, shortServerID: 1)
            c.servers = [.init(instance: 0, shortServerID: 2, lifetime: 60)]
            return c
        })
        try await s.bootstrap.start()
        let events = s.bootstrapEvents
        let failure = try await s.run { () async throws -> LwM2MBootstrapError in
            while true {
                try Task.checkCancellation()
                for case .failed(_, let error) in events.all { return error }
                await Task.yield()
            }
        }
        #expect(failure.step == .finish)
        #expect(failure.description.contains("4.06") || failure.description.contains("Not Acceptable"))
        #expect(await s.bootstrap.status == .bootstrapping)
        #expect(s.clientEvents.all == [.bootstrapRegistrationComplete])
    }

    @Test("server-initiated: Execute /1/0/9 from the LwM2M server runs a new bootstrap session")
    func serverInitiated() async throws {
        let s = try await Setup(configuration: { .noSec(serverURI: $0, lifetime: 120) })
        let (client, _) = try await s.bootstrapAndRegister()
        let server = s.server
        try await s.run { try await server.execute(endpoint: "bs-mem", path: .resource(1, 0, 9)) }
        let bootstrapEvents = s.bootstrapEvents
        @Sendable func finishedSessions() -> Int {
            bootstrapEvents.all.filter { if case .finished = $0 { true } else { false } }.count
        }
        try await s.run {
            while finishedSessions() < 2 {
                try Task.checkCancellation()
                await Task.yield()
            }
        }
        #expect(s.clientEvents.all.filter { $0 == .bootstrapTransferComplete }.count == 2)
        withExtendedLifetime(client) {}
    }

    @Test("LwM2MClientRuntime with LwM2MBootstrapClientStep: no server account -> bootstrap -> register; /1/0/9 re-bootstraps")
    func runtime() async throws {
        let s = try await Setup(configuration: { .noSec(serverURI: $0, lifetime: 150, shortServerID: 4) })
        let network = s.network
        let transports = LwM2MClosureTransportFactory { account in
            let uri = try LwM2MServerURI(parsing: account.serverURI)
            return LwM2MConnection(
                transport: network.makeTransport(), server: try SocketAddress(ipAddress: uri.host, port: uri.port))
        }
        // The tree of Setup, but served by the runtime: each account (and the bootstrap step) gets its own
        // transport from the factory.
        let runtime = LwM2MClientRuntime(
            configuration: .init(
                registration: .init(endpointName: "bs-mem"), bootstrap: LwM2MBootstrapClientStep(sessionTimeout: .seconds(60))),
            tree: s.tree, transports: transports, clock: s.clock)
        let events = Recorder(runtime.events)
        await runtime.start()
        let serverEvents = s.serverEvents
        let registration = try await s.run { () async throws -> Registration in
            while true {
                try Task.checkCancellation()
                for case .registered(let r, _) in serverEvents.all { return r }
                await Task.yield()
            }
        }
        #expect(registration.lifetime == 150)
        #expect(await runtime.accounts.map(\.shortServerID) == [4])
        try await s.run {
            while !events.all.contains(where: { $0.event == .registrationComplete }) {
                try Task.checkCancellation()
                await Task.yield()
            }
        }
        let first = events.all.map(\.event)
        #expect(first.prefix(3) == [.bootstrapRegistrationComplete, .bootstrapTransferComplete, .registrationComplete])

        // Server-initiated bootstrap: the runtime runs the step again, then registers anew.
        let server = s.server
        try await s.run { try await server.execute(endpoint: "bs-mem", path: .resource(1, 0, 9)) }
        try await s.run {
            while events.all.filter({ $0.event == .registrationComplete }).count < 2 {
                try Task.checkCancellation()
                await Task.yield()
            }
        }
        #expect(events.all.filter { $0.event == .bootstrapTransferComplete }.count == 2)
        let bootstrapEvents = s.bootstrapEvents
        try await s.run {
            while bootstrapEvents.all.filter({ if case .finished = $0 { true } else { false } }).count < 2 {
                try Task.checkCancellation()
                await Task.yield()
            }
        }
        await runtime.close()
    }

    @Test("LwM2MClientRuntime: a factory account that keeps failing falls back to bootstrap, then the new account registers")
    func fallbackAfterFailures() async throws {
        let s = try await Setup(configuration: { .noSec(serverURI: $0, lifetime: 150, shortServerID: 5) })
        // A factory account whose server never answers.
        try LwM2MStandardObjects.installSecurity(in: s.tree, instanceID: 7, serverURI: "coap://10.200.0.1:5683", shortServerID: 9)
        try LwM2MStandardObjects.installServer(in: s.tree, instanceID: 7, shortServerID: 9, lifetime: 60)
        let network = s.network
        let transports = LwM2MClosureTransportFactory { account in
            let uri = try LwM2MServerURI(parsing: account.serverURI)
            return LwM2MConnection(
                transport: network.makeTransport(), server: try SocketAddress(ipAddress: uri.host, port: uri.port))
        }
        let runtime = LwM2MClientRuntime(
            configuration: .init(
                registration: .init(endpointName: "bs-mem", initialRetryDelay: .seconds(1), maximumRegistrationAttempts: 2),
                bootstrap: LwM2MBootstrapClientStep(sessionTimeout: .seconds(60))),
            tree: s.tree, transports: transports, clock: s.clock)
        let events = Recorder(runtime.events)
        await runtime.start()
        let serverEvents = s.serverEvents
        let registration = try await s.run { () async throws -> Registration in
            while true {
                try Task.checkCancellation()
                for case .registered(let r, _) in serverEvents.all { return r }
                await Task.yield()
            }
        }
        #expect(registration.lifetime == 150)
        let log = events.all
        // SSID 9 gave up before the bootstrap step ran; the bootstrap deleted it (Bootstrap-Delete of /0 and /1).
        let gaveUp = try #require(log.firstIndex { $0.shortServerID == 9 && $0.event == .networkError })
        let bootstrapped = try #require(log.firstIndex { $0.event == .bootstrapTransferComplete })
        #expect(gaveUp < bootstrapped)
        #expect(await runtime.accounts.map(\.shortServerID) == [5])
        await runtime.close()
    }
}
