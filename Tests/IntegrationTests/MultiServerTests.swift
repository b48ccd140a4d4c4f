import ClientKit
import CoAPCore
import Codecs
import LwM2MModel
import NIOCore
import ServerKit
import Synchronization
import Testing
import LwM2MTestPKI

/// One device (`LwM2MClientRuntime`) registered with two `LwM2MServer`s on the simulated network.
struct MultiServerBench {
    let clock = CoAPVirtualClock()
    let network: CoAPSimulatedNetwork
    let servers: [LwM2MServer]
    let serverEvents: [Recorder<LwM2MServerEvent>]
    let tree: LwM2MObjectTree
    let sensor: LwM2MTemperatureSensor
    let runtime: LwM2MClientRuntime
    let runtimeEvents: Recorder<LwM2MClientRuntimeEvent>
    let endpoint = "multi-1"

    /// `accounts` server accounts (SSID 1, 2, ...); `bootstrap` adds a bootstrap account (Security only);
    /// `refuse` SSIDs whose connection always fails.
    init(
        accounts: Int = 2, serverCount: Int = 2, bootstrap: (any LwM2MBootstrapStep)? = nil,
        withBootstrapAccount: Bool = false, refuse: Set<UInt16> = []
    ) async throws {
        network = CoAPSimulatedNetwork(clock: clock)
        let registry = LwM2MRegistry.builtIn
        var servers: [LwM2MServer] = []
        var recorders: [Recorder<LwM2MServerEvent>] = []
        for _ in 0..<serverCount {
            let server = LwM2MServer(
                transport: network.makeTransport(), definitions: registry, codec: LwM2MCodec(definitions: registry),
                clock: clock)
            recorders.append(Recorder(server.events))
            await server.start()
            servers.append(server)
        }
        self.servers = servers
        serverEvents = recorders
        tree = LwM2MObjectTree(definitions: registry)
        for i in 0..<accounts {
            try MultiServerBench.addAccount(tree, ssid: UInt16(i + 1), server: servers[i])
        }
        if withBootstrapAccount {
            try LwM2MStandardObjects.installSecurity(
                in: tree, instanceID: 9, serverURI: "coap://10.9.9.9:5783", shortServerID: 0, isBootstrapServer: true)
        }
        try LwM2MStandardObjects.installDevice(in: tree)
        sensor = try LwM2MTemperatureSensor(tree: tree, initial: 20)
        let network = self.network
        let factory = LwM2MClosureTransportFactory { account in
            if refuse.contains(account.shortServerID) {
                throw LwM2MConnectionError(code: .handshakeFailed, reason: "refused by the test")
            }
            let uri = try LwM2MServerURI(parsing: account.serverURI)
            return LwM2MConnection(
                transport: network.makeTransport(), server: try SocketAddress(ipAddress: uri.host, port: uri.port))
        }
        var registration = LwM2MRegistrationConfiguration(endpointName: endpoint, lifetime: 300)
        registration.maximumRegistrationAttempts = 3
        runtime = LwM2MClientRuntime(
            configuration: .init(registration: registration, maximumConnectionAttempts: 3, bootstrap: bootstrap),
            tree: tree, transports: factory, clock: clock)
        runtimeEvents = Recorder(runtime.events)
    }

    static func uri(of server: LwM2MServer) -> String {
        "coap://\(server.localAddress.ipAddress!):\(server.localAddress.port!)"
    }

    /// Adds Security /0/(ssid-1) and Server /1/(ssid-1) for `server`.
    static func addAccount(_ tree: LwM2MObjectTree, ssid: UInt16, server: LwM2MServer) throws {
        try LwM2MStandardObjects.installSecurity(
            in: tree, instanceID: ssid - 1, serverURI: uri(of: server), shortServerID: ssid)
        try LwM2MStandardObjects.installServer(in: tree, instanceID: ssid - 1, shortServerID: ssid, lifetime: 300)
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await driving(clock, maxVirtual: .seconds(900), body)
    }

    /// Waits (on the virtual clock) for a server event of server `index`.
    @discardableResult
    func serverEvent(_ index: Int, _ match: @escaping @Sendable (LwM2MServerEvent) -> Bool) async throws -> LwM2MServerEvent {
        let events = serverEvents[index]
        return try await run {
            while true {
                try Task.checkCancellation()
                if let e = events.all.first(where: match) { return e }
                await Task.yield()
            }
        }
    }

    /// Waits (on the virtual clock) for a runtime event.
    @discardableResult
    func runtimeEvent(_ match: @escaping @Sendable (LwM2MClientRuntimeEvent) -> Bool) async throws -> LwM2MClientRuntimeEvent {
        let events = runtimeEvents
        return try await run {
            while true {
                try Task.checkCancellation()
                if let e = events.all.first(where: match) { return e }
                await Task.yield()
            }
        }
    }

    /// Starts the runtime and waits until both servers saw the registration.
    func registerAll() async throws {
        await runtime.start()
        for i in servers.indices { try await serverEvent(i) { if case .registered = $0 { true } else { false } } }
    }

    /// The CoAP code of a failed server operation (nil when it succeeded).
    func code(_ body: @escaping @Sendable () async throws -> Void) async throws -> CoAPCode? {
        try await run {
            do {
                try await body()
                return nil
            } catch let error as LwM2MServerError {
                return error.coapCode
            }
        }
    }
}

@Suite("Multi-server runtime and Access Control (in memory)")
struct MultiServerTests {
    @Test("One device registers with two servers; events carry the Short Server ID")
    func twoServers() async throws {
        let bench = try await MultiServerBench()
        try await bench.registerAll()
        try await bench.runtimeEvent { $0.shortServerID == 1 && $0.event == .registrationComplete }
        try await bench.runtimeEvent { $0.shortServerID == 2 && $0.event == .registrationComplete }
        #expect(await bench.runtime.accounts.map(\.shortServerID) == [1, 2])
        #expect(await bench.runtime.state(of: 1) == .running)
        for server in bench.servers {
            #expect(await server.registration(endpoint: bench.endpoint) != nil)
        }
        // Each server's observation belongs to its own session.
        let (server2, ep) = (bench.servers[1], bench.endpoint)
        try LwM2MAccessControl.setRights(in: bench.tree, objectID: 3303, instanceID: 0, owner: 2, acl: [:])
        let (observation, first) = try await bench.run {
            try await server2.observe(endpoint: ep, path: .resource(3303, 0, 5700))
        }
        #expect(first.singleValue == .float(20))
        let notifications = Recorder(await server2.notifications(of: observation))
        try bench.sensor.record(30)
        _ = try await bench.run { while notifications.all.isEmpty { try Task.checkCancellation(); await Task.yield() } }
        #expect(await bench.runtime.client(for: 2)?.activeObservations.count == 1)
        #expect(await bench.runtime.client(for: 1)?.activeObservations.isEmpty == true)
        await bench.runtime.close()
    }

    @Test("ACL: server 1 may, server 2 gets 4.01; the default entry grants Read; Security is never readable")
    func accessControl() async throws {
        let bench = try await MultiServerBench()
        let tree = bench.tree
        // Device /3/0 and Server instances: owned by 1 (and each /1/y by its server); the sensor: owner 1 and
        // Read for everybody else through the default entry.
        try LwM2MStandardObjects.installAccessControl(in: tree, owner: 1)
        try LwM2MAccessControl.setRights(in: tree, objectID: 3303, instanceID: 0, owner: 1, acl: [0: .read])
        try await bench.registerAll()
        let (s1, s2, ep) = (bench.servers[0], bench.servers[1], bench.endpoint)

        #expect(try await bench.code { _ = try await s1.read(endpoint: ep, path: .resource(3, 0, 0)) } == nil)
        #expect(try await bench.code { _ = try await s2.read(endpoint: ep, path: .resource(3, 0, 0)) } == .unauthorized)
        #expect(try await bench.code { _ = try await s2.discover(endpoint: ep, path: .instance(3, 0)) } == .unauthorized)
        #expect(try await bench.code {
            try await s2.writeAttributes(endpoint: ep, path: .resource(3, 0, 9), attributes: ["pmin=5"])
        } == .unauthorized)
        #expect(try await bench.code { try await s2.execute(endpoint: ep, path: .resource(3, 0, 4)) } == .unauthorized)
        // Read via the default entry, but no Execute.
        let value = try await bench.run { try await s2.read(endpoint: ep, path: .resource(3303, 0, 5700)) }
        #expect(value.singleValue == .float(20))
        #expect(try await bench.code { try await s2.execute(endpoint: ep, path: .resource(3303, 0, 5605)) } == .unauthorized)
        #expect(try await bench.code { try await s1.execute(endpoint: ep, path: .resource(3303, 0, 5605)) } == nil)
        // Security holds keys: no server reads it.
        #expect(try await bench.code { _ = try await s1.read(endpoint: ep, path: .instance(0, 0)) } == .unauthorized)
        // Each server owns its own Server instance: server 2 may change its lifetime, not server 1's.
        #expect(try await bench.code {
            try await s2.write(endpoint: ep, path: .resource(1, 1, 1), node: .resource(.single(1, .integer(600))), mode: .replace)
        } == nil)
        #expect(tree.value(at: .resource(1, 1, 1)) == .integer(600))
        #expect(try await bench.code {
            try await s2.write(endpoint: ep, path: .resource(1, 0, 1), node: .resource(.single(1, .integer(600))), mode: .replace)
        } == .unauthorized)
        // Only the owner changes an Access Control instance.
        let ac = LwM2MAccessControl(tree: tree, shortServerID: 1)
        let x = try #require(ac.controlInstance(objectID: 3303, instanceID: 0))
        let grant = LwM2MNode.resource(.multiple(2, [0: .integer(1), 2: .integer(7)]))
        #expect(try await bench.code {
            try await s2.write(endpoint: ep, path: .resource(2, x, 2), node: grant, mode: .replace)
        } == .unauthorized)
        #expect(try await bench.code {
            try await s1.write(endpoint: ep, path: .resource(2, x, 2), node: grant, mode: .replace)
        } == nil)
        #expect(LwM2MAccessControl(tree: tree, shortServerID: 2).rights(objectID: 3303, instanceID: 0) == [.read, .write, .execute])
        #expect(try await bench.code { try await s2.execute(endpoint: ep, path: .resource(3303, 0, 5605)) } == nil)
        await bench.runtime.close()
    }

    @Test("Delete of another server's account (/1/1) removes that server's ACL entries and the instances it owned")
    func deleteOfAnAccount() async throws {
        let bench = try await MultiServerBench()
        let tree = bench.tree
        // Everything owned by server 1; server 2 owns the sensor and may read the Device; server 1 may delete /1/1.
        try LwM2MStandardObjects.installAccessControl(in: tree, owner: 1)
        try LwM2MAccessControl.setRights(in: tree, objectID: 3303, instanceID: 0, owner: 2, acl: [1: .read])
        try LwM2MAccessControl.setRights(in: tree, objectID: 3, instanceID: 0, owner: 1, acl: [2: .read])
        try LwM2MAccessControl.setRights(in: tree, objectID: 1, instanceID: 1, owner: 2, acl: [1: .delete])
        try await bench.registerAll()
        let (s1, ep) = (bench.servers[0], bench.endpoint)

        #expect(try await bench.code { try await s1.delete(endpoint: ep, path: .instance(1, 1)) } == nil)
        #expect(tree.instanceIDs(of: 1) == [0])
        #expect(tree.instanceIDs(of: 3303).isEmpty)
        #expect(tree.instanceIDs(of: 3) == [0])
        let ac = LwM2MAccessControl(tree: tree, shortServerID: 1)
        #expect(ac.controlInstance(objectID: 1, instanceID: 1) == nil)
        #expect(ac.controlInstance(objectID: 3303, instanceID: 0) == nil)
        for x in tree.instanceIDs(of: 2) {
            #expect(ac.owner(ofControlInstance: x) == 1)
            #expect(ac.acl(ofControlInstance: x)[2] == nil)
        }
        await bench.runtime.close()
    }

    @Test("Read of a whole object shows only the readable instances")
    func objectReadIsFiltered() async throws {
        let bench = try await MultiServerBench()
        let tree = bench.tree
        _ = try LwM2MTemperatureSensor(tree: tree, instanceID: 1, initial: 5)
        try LwM2MStandardObjects.installAccessControl(in: tree, owner: 1)
        try LwM2MAccessControl.setRights(in: tree, objectID: 3303, instanceID: 1, owner: 1, acl: [2: .read])
        try await bench.registerAll()
        let (s1, s2, ep) = (bench.servers[0], bench.servers[1], bench.endpoint)
        let all = try await bench.run { try await s1.read(endpoint: ep, path: .object(3303)) }
        let some = try await bench.run { try await s2.read(endpoint: ep, path: .object(3303)) }
        guard case .object(let a) = all, case .object(let b) = some else {
            Issue.record("not objects: \(all) \(some)")
            return
        }
        #expect(a.instances.map(\.id) == [0, 1])
        #expect(b.instances.map(\.id) == [1])
        #expect(try await bench.code { _ = try await s2.read(endpoint: ep, path: .object(3)) } == .unauthorized)
        // An observation of the object is filtered the same way, in the response and in every notification.
        let (observation, first) = try await bench.run { try await s2.observe(endpoint: ep, path: .object(3303)) }
        guard case .object(let initial) = first else {
            Issue.record("not an object: \(first)")
            return
        }
        #expect(initial.instances.map(\.id) == [1])
        let notifications = Recorder(await s2.notifications(of: observation))
        try bench.sensor.record(31)
        _ = try await bench.run { while notifications.all.isEmpty { try Task.checkCancellation(); await Task.yield() } }
        guard case .node(_, .object(let notified)) = notifications.all[0].content else {
            Issue.record("not an object notification: \(notifications.all[0].content)")
            return
        }
        #expect(notified.instances.map(\.id) == [1])
        await bench.runtime.close()
    }

    @Test("Create needs the C right of the 65535 entry; the creator owns the new instance; Delete removes its ACL")
    func createAndOwnership() async throws {
        let bench = try await MultiServerBench()
        let tree = bench.tree
        try LwM2MStandardObjects.installAccessControl(in: tree, owner: 1)
        try LwM2MAccessControl.setRights(in: tree, objectID: 3303, instanceID: 65535, owner: 65535, acl: [2: .create])
        try await bench.registerAll()
        let (s1, s2, ep) = (bench.servers[0], bench.servers[1], bench.endpoint)
        let resources: [LwM2MResource] = [.single(5700, .float(1)), .single(5701, .string("Cel"))]

        #expect(try await bench.code {
            _ = try await s1.create(endpoint: ep, objectID: 3303, instanceID: 7, resources: resources)
        } == .unauthorized)
        #expect(!tree.contains(.instance(3303, 7)))
        let created = try await bench.run {
            try await s2.create(endpoint: ep, objectID: 3303, instanceID: 7, resources: resources)
        }
        #expect(created == .instance(3303, 7))
        let ac = LwM2MAccessControl(tree: tree, shortServerID: 2)
        let x = try #require(ac.controlInstance(objectID: 3303, instanceID: 7))
        #expect(ac.owner(ofControlInstance: x) == 2)
        #expect(ac.rights(objectID: 3303, instanceID: 7) == .owner)
        // The creator reads it; server 1 (no entry, no default) may not.
        #expect(try await bench.code { _ = try await s2.read(endpoint: ep, path: .resource(3303, 7, 5700)) } == nil)
        #expect(try await bench.code { _ = try await s1.read(endpoint: ep, path: .resource(3303, 7, 5700)) } == .unauthorized)
        #expect(try await bench.code { try await s1.delete(endpoint: ep, path: .instance(3303, 7)) } == .unauthorized)
        // Servers neither create nor delete Access Control instances.
        #expect(try await bench.code { try await s2.delete(endpoint: ep, path: .instance(2, x)) } == .unauthorized)
        #expect(try await bench.code { try await s2.delete(endpoint: ep, path: .instance(3303, 7)) } == nil)
        #expect(!tree.contains(.instance(3303, 7)))
        #expect(ac.controlInstance(objectID: 3303, instanceID: 7) == nil)
        await bench.runtime.close()
    }

    @Test("An account added at run time registers; removed, it de-registers")
    func accountsFollowTheTree() async throws {
        let bench = try await MultiServerBench(accounts: 1)
        await bench.runtime.start()
        try await bench.serverEvent(0) { if case .registered = $0 { true } else { false } }
        #expect(await bench.runtime.accounts.map(\.shortServerID) == [1])
        #expect(bench.serverEvents[1].all.isEmpty)

        try MultiServerBench.addAccount(bench.tree, ssid: 2, server: bench.servers[1])
        try await bench.serverEvent(1) { if case .registered = $0 { true } else { false } }
        #expect(await bench.runtime.accounts.map(\.shortServerID) == [1, 2])
        // Server 1 hears of the new /1/1 instance in an Update.
        try await bench.serverEvent(0) { if case .updated = $0 { true } else { false } }

        try bench.tree.deleteInstance(1, 1)
        try await bench.serverEvent(1) { if case .deregistered = $0 { true } else { false } }
        try await bench.runtimeEvent { $0.shortServerID == 2 && $0.event == .disconnect }
        #expect(await bench.runtime.accounts.map(\.shortServerID) == [1])
        #expect(await bench.servers[0].registration(endpoint: bench.endpoint) != nil)
        await bench.runtime.close()
    }

    @Test("A failing account is retried, gives up with NETWORK_ERROR and hands over to the bootstrap step")
    func failingAccountStartsBootstrap() async throws {
        let step = FakeBootstrap()
        let bench = try await MultiServerBench(accounts: 1, bootstrap: step, withBootstrapAccount: true, refuse: [1])
        step.target.withLock { $0 = MultiServerBench.uri(of: bench.servers[1]) }
        await bench.runtime.start()
        try await bench.runtimeEvent { $0.shortServerID == 1 && $0.event == .networkError }
        let beforeGivingUp = bench.runtimeEvents.all.prefix { $0.event != .networkError }
        let failures = beforeGivingUp.filter { $0.shortServerID == 1 && $0.event == .registrationFailure }
        #expect(failures.count == 3)
        #expect(failures.first?.reason?.contains("refused by the test") == true)
        // The step ran with the bootstrap account and configured server 2 (SSID 5): the runtime registers there.
        try await bench.serverEvent(1) { if case .registered = $0 { true } else { false } }
        #expect(step.runs.withLock { $0 } == 1)
        try await bench.runtimeEvent { $0.shortServerID == 5 && $0.event == .registrationComplete }
        #expect(bench.runtimeEvents.all.contains { $0.event == .bootstrapTransferComplete })
        await bench.runtime.close()
    }

    @Test("Execute on the Bootstrap-Request Trigger /1/x/9 runs the bootstrap step; the new account registers")
    func bootstrapRequestTrigger() async throws {
        let step = FakeBootstrap()
        let bench = try await MultiServerBench(accounts: 1, bootstrap: step, withBootstrapAccount: true)
        step.target.withLock { $0 = MultiServerBench.uri(of: bench.servers[1]) }
        await bench.runtime.start()
        try await bench.serverEvent(0) { if case .registered = $0 { true } else { false } }
        #expect(step.runs.withLock { $0 } == 0)
        let (s1, ep) = (bench.servers[0], bench.endpoint)
        try await bench.run { try await s1.execute(endpoint: ep, path: .resource(1, 0, 9)) }
        try await bench.serverEvent(1) { if case .registered = $0 { true } else { false } }
        #expect(step.runs.withLock { $0 } == 1)
        #expect(await bench.runtime.accounts.map(\.shortServerID) == [1, 5])
        await bench.runtime.close()
    }

    @Test("A server that never answers: Register gives up with NETWORK_ERROR and the bootstrap step runs")
    func silentServerStartsBootstrap() async throws {
        let step = FakeBootstrap()
        let bench = try await MultiServerBench(accounts: 0, serverCount: 1, bootstrap: step, withBootstrapAccount: true)
        try LwM2MStandardObjects.installSecurity(
            in: bench.tree, instanceID: 0, serverURI: "coap://10.200.0.1:5683", shortServerID: 1)
        try LwM2MStandardObjects.installServer(in: bench.tree, instanceID: 0, shortServerID: 1, lifetime: 300)
        step.target.withLock { $0 = MultiServerBench.uri(of: bench.servers[0]) }
        await bench.runtime.start()
        try await bench.runtimeEvent { $0.shortServerID == 1 && $0.event == .networkError }
        #expect(bench.runtimeEvents.all.contains { $0.shortServerID == 1 && $0.event == .registrationTimeout })
        try await bench.serverEvent(0) { if case .registered = $0 { true } else { false } }
        #expect(step.runs.withLock { $0 } == 1)
        await bench.runtime.close()
    }

    @Test("No account at all: the bootstrap step runs at start")
    func noAccountStartsBootstrap() async throws {
        let step = FakeBootstrap()
        let bench = try await MultiServerBench(accounts: 0, serverCount: 1, bootstrap: step, withBootstrapAccount: true)
        step.target.withLock { $0 = MultiServerBench.uri(of: bench.servers[0]) }
        await bench.runtime.start()
        try await bench.serverEvent(0) { if case .registered = $0 { true } else { false } }
        #expect(step.runs.withLock { $0 } == 1)
        await bench.runtime.close()
    }
}

/// A stand-in for the bootstrap step: writes one server account (SSID 5) the way a bootstrap server would.
final class FakeBootstrap: LwM2MBootstrapStep {
    let target = Mutex("")
    let runs = Mutex(0)

    func bootstrap(_ context: LwM2MBootstrapContext) async throws {
        runs.withLock { $0 += 1 }
        #expect(context.account.isBootstrapServer)
        #expect(context.endpointName == "multi-1")
        context.emit(.bootstrapRegistrationComplete, nil)
        let uri = target.withLock { $0 }
        try context.tree.batch {
            try LwM2MStandardObjects.installSecurity(in: context.tree, instanceID: 5, serverURI: uri, shortServerID: 5)
            try LwM2MStandardObjects.installServer(in: context.tree, instanceID: 5, shortServerID: 5, lifetime: 300)
        }
        context.emit(.bootstrapTransferComplete, nil)
    }
}
