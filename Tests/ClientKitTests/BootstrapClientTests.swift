import ClientKit
import CoAPCore
import Codecs
import LwM2MModel
import NIOCore
import Synchronization
import Testing
import LwM2MTestPKI

// MARK: - State machine

@Suite("Client bootstrap state machine")
struct ClientBootstrapStateMachineTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test("Bootstrap-Request query: ep and pct for 1.1, ep only for 1.0")
    func requestQuery() {
        var m = LwM2MClientBootstrapStateMachine(configuration: .init(endpointName: "dev1"))
        #expect(m.start(now: t0) == [.sendRequest(id: 1, query: ["ep=dev1", "pct=112"])])
        #expect(m.status == .requesting && m.acceptsBootstrapOperations)
        var m10 = LwM2MClientBootstrapStateMachine(configuration: .init(endpointName: "dev1", version: .v1_0))
        #expect(m10.start(now: t0) == [.sendRequest(id: 1, query: ["ep=dev1"])])
        let json = LwM2MClientBootstrapConfiguration(endpointName: "d", preferredFormat: .senmlJSON)
        #expect(json.requestQuery == ["ep=d", "pct=110"])
    }

    @Test("accepted request, refused Finish stays in bootstrap, accepted Finish completes")
    func finish() {
        var m = LwM2MClientBootstrapStateMachine(configuration: .init(endpointName: "dev1"))
        _ = m.start(now: t0)
        #expect(m.receive(.accepted, for: 1, now: t0) == [.emit(.bootstrapRegistrationComplete)])
        #expect(m.status == .bootstrapping)
        #expect(m.finishReceived(accepted: false, now: t0 + .seconds(1)) == [])
        #expect(m.status == .bootstrapping && m.acceptsBootstrapOperations)
        #expect(m.finishReceived(accepted: true, now: t0 + .seconds(2)) == [.emit(.bootstrapTransferComplete), .completed])
        #expect(m.status == .finished && !m.acceptsBootstrapOperations && m.nextDeadline == nil)
        // Nothing is accepted after Finish.
        #expect(m.finishReceived(accepted: true, now: t0 + .seconds(3)) == [])
    }

    @Test("an operation overtaking the request's 2.04 starts the session; the late 2.04 is ignored")
    func operationFirst() {
        var m = LwM2MClientBootstrapStateMachine(configuration: .init(endpointName: "dev1"))
        _ = m.start(now: t0)
        #expect(m.operationReceived(now: t0) == [.emit(.bootstrapRegistrationComplete)])
        #expect(m.receive(.accepted, for: 1, now: t0) == [])
        #expect(m.status == .bootstrapping)
    }

    @Test("rejection, timeout and the session timeout retry with doubling back-off, then give up")
    func retries() {
        let config = LwM2MClientBootstrapConfiguration(
            endpointName: "dev1", sessionTimeout: .seconds(100), initialRetryDelay: .seconds(10),
            maximumRetryDelay: .seconds(30), maximumAttempts: 4)
        var m = LwM2MClientBootstrapStateMachine(configuration: config)
        _ = m.start(now: t0)
        #expect(m.nextDeadline == t0 + .seconds(100))
        // 1: rejected -> retry in 10 s.
        #expect(m.receive(.rejected(.badRequest), for: 1, now: t0) == [.emit(.bootstrapRegistrationFailure)])
        #expect(m.status == .waiting && m.nextDeadline == t0 + .seconds(10))
        #expect(m.advance(to: t0 + .seconds(9)) == [])
        #expect(m.advance(to: t0 + .seconds(10)) == [.sendRequest(id: 2, query: ["ep=dev1", "pct=112"])])
        // 2: no response -> retry in 20 s.
        let t1 = t0 + .seconds(10)
        #expect(m.receive(.timeout, for: 2, now: t1) == [.emit(.bootstrapRegistrationFailure)])
        #expect(m.nextDeadline == t1 + .seconds(20))
        _ = m.advance(to: t1 + .seconds(20))
        // 3: accepted but no Finish within the session timeout -> failure, retry capped at 30 s.
        let t2 = t1 + .seconds(20)
        _ = m.receive(.accepted, for: 3, now: t2)
        #expect(m.nextDeadline == t2 + .seconds(100))
        #expect(m.advance(to: t2 + .seconds(100)) == [.emit(.bootstrapRegistrationFailure)])
        #expect(m.nextDeadline == t2 + .seconds(130))
        _ = m.advance(to: t2 + .seconds(130))
        // 4: the last attempt fails -> NETWORK_ERROR.
        #expect(m.receive(.timeout, for: 4, now: t2 + .seconds(131))
            == [.emit(.bootstrapRegistrationFailure), .emit(.networkError), .gaveUp])
        #expect(m.status == .failed && m.nextDeadline == nil)
    }

    @Test("hold off delays the first request; a stale outcome is ignored")
    func holdOff() {
        var m = LwM2MClientBootstrapStateMachine(configuration: .init(endpointName: "e", holdOff: .seconds(5)))
        #expect(m.start(now: t0) == [])
        #expect(m.nextDeadline == t0 + .seconds(5))
        #expect(m.receive(.accepted, for: 1, now: t0) == [])
        #expect(m.advance(to: t0 + .seconds(5)) == [.sendRequest(id: 1, query: ["ep=e", "pct=112"])])
        m.stop()
        #expect(m.status == .idle && !m.acceptsBootstrapOperations)
    }
}

// MARK: - Operations on the tree

/// A tree with a bootstrap-server account (/0/0), Server 1.1, Device and a temperature sensor.
func bootstrapTree(bootstrapURI: String = "coap://10.0.0.1:5683") throws -> LwM2MObjectTree {
    let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
    try LwM2MStandardObjects.installSecurity(
        in: tree, instanceID: 0, serverURI: bootstrapURI, shortServerID: 0, isBootstrapServer: true)
    try tree.addObject(1)
    try LwM2MStandardObjects.installDevice(in: tree)
    _ = try LwM2MTemperatureSensor(tree: tree)
    return tree
}

/// Security instance `id` for a NoSec server account.
func securityInstance(_ id: UInt16, uri: String, ssid: Int64, mode: Int64 = 3) -> LwM2MObjectInstance {
    LwM2MObjectInstance(id: id, resources: [
        .single(0, .string(uri)), .single(1, .boolean(false)), .single(2, .integer(mode)), .single(3, .opaque([])),
        .single(4, .opaque([])), .single(5, .opaque([])), .single(10, .integer(ssid)),
    ])
}

/// Server instance `id` with `ssid` and `lifetime`.
func serverInstance(_ id: UInt16, ssid: Int64, lifetime: Int64 = 120) -> LwM2MObjectInstance {
    LwM2MObjectInstance(id: id, resources: [
        .single(0, .integer(ssid)), .single(1, .integer(lifetime)), .single(6, .boolean(false)), .single(7, .string("U")),
    ])
}

@Suite("Bootstrap Interface operations on the object tree")
struct BootstrapTreeOperationTests {
    @Test("Bootstrap-Write creates instances and writes resources that are not writable")
    func write() throws {
        let tree = try bootstrapTree()
        try tree.bootstrapWrite(.objectInstance(securityInstance(1, uri: "coap://10.0.0.9:5683", ssid: 101)), at: .instance(0, 1))
        #expect(tree.value(at: .resource(0, 1, 0)) == .string("coap://10.0.0.9:5683"))
        // /1/x/0 Short Server ID is read-only for a DM server; Bootstrap-Write may set it.
        try tree.bootstrapWrite(.objectInstance(serverInstance(0, ssid: 101)), at: .instance(1, 0))
        try tree.bootstrapWrite(.resource(.single(0, .integer(102))), at: .resource(1, 0, 0))
        #expect(tree.value(at: .resource(1, 0, 0)) == .integer(102))
        #expect(throws: LwM2MClientError.methodNotAllowed("")) {
            try tree.write(.resource(.single(0, .integer(7))), at: .resource(1, 0, 0), replace: true)
        }
        // A resource of a missing instance creates the instance; an object payload creates each instance.
        try tree.bootstrapWrite(.resource(.single(1, .integer(60))), at: .resource(1, 4, 1))
        #expect(tree.instanceIDs(of: 1) == [0, 4])
        try tree.bootstrapWrite(.object(LwM2MObject(id: 1, instances: [serverInstance(5, ssid: 105), serverInstance(6, ssid: 106)])), at: .object(1))
        #expect(tree.instanceIDs(of: 1) == [0, 4, 5, 6])
        // An object the tree lacks is added from the definitions (Access Control here).
        try tree.bootstrapWrite(.objectInstance(LwM2MObjectInstance(id: 0, resources: [
            .single(0, .integer(3)), .single(1, .integer(0)), .single(3, .integer(101)),
        ])), at: .instance(2, 0))
        #expect(tree.value(at: .resource(2, 0, 3)) == .integer(101))
        #expect(throws: LwM2MClientError.notFound(.root)) {
            try tree.bootstrapWrite(.objectInstance(LwM2MObjectInstance(id: 0, resources: [])), at: .instance(64_000, 0))
        }
        // An unknown resource in an instance write is skipped; addressed directly it is 4.04.
        try tree.bootstrapWrite(.objectInstance(LwM2MObjectInstance(id: 0, resources: [
            .single(1, .integer(61)), .single(4_000, .string("future resource")),
        ])), at: .instance(1, 0))
        #expect(tree.value(at: .resource(1, 0, 1)) == .integer(61))
        #expect(throws: LwM2MClientError.notFound(.root)) {
            try tree.bootstrapWrite(.resource(.single(4_000, .integer(1))), at: .resource(1, 0, 4_000))
        }
        #expect(throws: LwM2MClientError.badRequest("")) {
            try tree.bootstrapWrite(.objectInstance(serverInstance(3, ssid: 1)), at: .instance(1, 2))
        }
    }

    @Test("Bootstrap-Read only of Server and Access Control, else 4.00")
    func read() throws {
        let tree = try bootstrapTree()
        try tree.bootstrapWrite(.objectInstance(serverInstance(0, ssid: 101)), at: .instance(1, 0))
        guard case .object(let object) = try tree.bootstrapRead(.object(1)) else { Issue.record("not an object"); return }
        #expect(object.instances.map(\.id) == [0])
        #expect(throws: LwM2MClientError.badRequest("")) { try tree.bootstrapRead(.object(0)) }
        #expect(throws: LwM2MClientError.badRequest("")) { try tree.bootstrapRead(.instance(3, 0)) }
        #expect(throws: LwM2MClientError.badRequest("")) { try tree.bootstrapRead(.resource(1, 0, 1)) }
    }

    @Test("Bootstrap-Delete of / keeps the bootstrap account and the Device instance; naming them is 4.00")
    func delete() throws {
        let tree = try bootstrapTree()
        try tree.bootstrapWrite(.objectInstance(securityInstance(1, uri: "coap://s", ssid: 101)), at: .instance(0, 1))
        try tree.bootstrapWrite(.objectInstance(serverInstance(0, ssid: 101)), at: .instance(1, 0))
        let deleted = try tree.bootstrapDelete(.root)
        #expect(Set(deleted) == [.instance(0, 1), .instance(1, 0), .instance(3303, 0)])
        #expect(tree.instanceIDs(of: 0) == [0] && tree.instanceIDs(of: 3) == [0])
        #expect(throws: LwM2MClientError.badRequest("")) { try tree.bootstrapDelete(.instance(0, 0)) }
        #expect(throws: LwM2MClientError.badRequest("")) { try tree.bootstrapDelete(.object(3)) }
        #expect(throws: LwM2MClientError.badRequest("")) { try tree.bootstrapDelete(.resource(0, 0, 1)) }
        #expect(try tree.bootstrapDelete(.object(0)) == [])
        #expect(try tree.bootstrapDelete(.instance(1, 9)) == [])  // nothing there: still 2.02
    }

    @Test("Bootstrap-Discover lists lwm2m=, objects with ver, instances with ssid and uri")
    func discover() throws {
        let tree = try bootstrapTree(bootstrapURI: "coap://bs.example:5783")
        try tree.bootstrapWrite(.objectInstance(securityInstance(1, uri: "coap://dm.example", ssid: 101)), at: .instance(0, 1))
        try tree.bootstrapWrite(.objectInstance(serverInstance(0, ssid: 101)), at: .instance(1, 0))
        let root = try tree.bootstrapDiscover(.root, version: "1.1")
        #expect(root == #"</>;lwm2m=1.1,</0>;ver=1.1,</0/0>;uri="coap://bs.example:5783",</0/1>;ssid=101;"#
            + #"uri="coap://dm.example",</1>;ver=1.1,</1/0>;ssid=101,</3>;ver=1.1,</3/0>,</3303/0>"#)
        #expect(try tree.bootstrapDiscover(.object(1), version: "1.1") == "</>;lwm2m=1.1,</1>;ver=1.1,</1/0>;ssid=101")
        #expect(throws: LwM2MClientError.notFound(.root)) { try tree.bootstrapDiscover(.object(5), version: "1.1") }
        #expect(throws: LwM2MClientError.badRequest("")) { try tree.bootstrapDiscover(.instance(1, 0), version: "1.1") }
    }

    @Test("Finish check: a Server account with a matching Security instance is required")
    func consistency() throws {
        let tree = try bootstrapTree()
        #expect(tree.bootstrapConsistencyProblems() == ["no LwM2M Server account (/1 has no instance)"])
        try tree.bootstrapWrite(.objectInstance(serverInstance(0, ssid: 101)), at: .instance(1, 0))
        #expect(tree.bootstrapConsistencyProblems() == ["/1/0 (ssid 101) has no Security instance"])
        try tree.bootstrapWrite(.objectInstance(securityInstance(1, uri: "coaps://s", ssid: 101, mode: 0)), at: .instance(0, 1))
        #expect(tree.bootstrapConsistencyProblems() == ["/0/1 is in PSK mode without an identity or a key"])
        try tree.bootstrapWrite(.resource(.single(3, .opaque(Array("dev1".utf8)))), at: .resource(0, 1, 3))
        try tree.bootstrapWrite(.resource(.single(5, .opaque([1, 2, 3]))), at: .resource(0, 1, 5))
        #expect(tree.bootstrapConsistencyProblems() == [])
        try tree.bootstrapWrite(.objectInstance(serverInstance(1, ssid: 101)), at: .instance(1, 1))
        #expect(tree.bootstrapConsistencyProblems() == ["two Server instances with Short Server ID 101"])
    }
}

// MARK: - Lock-step on the simulated network

/// Records the events of a bootstrap client.
final class BootstrapEventLog: Sendable {
    let events = Mutex<[LwM2MRDClientEvent]>([])

    init(_ client: LwM2MBootstrapClient) {
        Task { [self] in for await e in client.events { self.events.withLock { $0.append(e) } } }
    }

    func count(of event: LwM2MRDClientEvent) -> Int { events.withLock { $0.filter { $0 == event }.count } }
    var all: [LwM2MRDClientEvent] { events.withLock { $0 } }
}

/// A bootstrap client and a scripted bootstrap server (its `/bs` answers with `requestCode`) on the simulated
/// network; the test sends the bootstrap server's operations itself.
final class BootstrapFixture: Sendable {
    let clock = CoAPVirtualClock()
    let network: CoAPSimulatedNetwork
    let bootstrapServer: CoAPEndpoint
    let requests = Mutex<[CoAPMessage]>([])
    let requestCode = Mutex<CoAPCode>(.changed)
    let tree: LwM2MObjectTree
    let endpoint: CoAPEndpoint
    let client: LwM2MBootstrapClient
    let log: BootstrapEventLog
    let codec = LwM2MCodec(definitions: LwM2MRegistry.builtIn)

    init(configuration: LwM2MClientBootstrapConfiguration = .init(endpointName: "dev1")) async throws {
        network = CoAPSimulatedNetwork(clock: clock)
        bootstrapServer = CoAPEndpoint(transport: network.makeTransport(), clock: clock)
        let address = bootstrapServer.localAddress
        tree = try bootstrapTree(bootstrapURI: "coap://\(address.ipAddress!):\(address.port!)")
        endpoint = CoAPEndpoint(transport: network.makeTransport(), clock: clock)
        client = LwM2MBootstrapClient(configuration: configuration, tree: tree, endpoint: endpoint)
        log = BootstrapEventLog(client)
        await bootstrapServer.register("/bs") { [self] request in
            self.requests.withLock { $0.append(request.message) }
            return .response(self.requestCode.withLock { $0 })
        }
    }

    /// Advances the virtual clock until `condition` holds.
    func until(maxVirtual: TimeAmount = .seconds(3600), _ condition: @escaping @Sendable () async -> Bool) async throws {
        try await driving(clock, maxVirtual: maxVirtual) {
            while await !condition() {
                try Task.checkCancellation()
                await Task.yield()
            }
        }
    }

    /// Starts bootstrap and waits for BOOTSTRAP_REG_COMPLETE.
    func startSession() async throws {
        try await client.start()
        let log = self.log
        try await until { log.count(of: .bootstrapRegistrationComplete) == 1 }
    }

    /// Sends `message` from the bootstrap server (or `from`) to the client.
    func send(_ message: CoAPMessage, from: CoAPEndpoint? = nil, to: CoAPEndpoint? = nil) async throws -> CoAPMessage {
        let sender = from ?? bootstrapServer
        let to = (to ?? endpoint).localAddress
        return try await driving(clock) { try await sender.request(message, to: to) }
    }

    func write(
        _ node: LwM2MNode, at path: LwM2MPath, as format: LwM2MContentFormat, to: CoAPEndpoint? = nil
    ) async throws -> CoAPMessage {
        let bytes = try codec.encode(node, at: path, as: format)
        return try await send(.request(
            .put, path: "\(path)", payload: ByteBuffer(bytes: bytes), contentFormat: CoAPContentFormat(rawValue: format.rawValue)),
            to: to)
    }
}

@Suite("Bootstrap client lock-step")
struct BootstrapClientLockStepTests {
    @Test("a full session: request, delete, write (TLV, SenML CBOR, SenML JSON), discover, read, refused and accepted finish")
    func session() async throws {
        let f = try await BootstrapFixture()
        try await f.startSession()
        let request = try #require(f.requests.withLock { $0.first })
        #expect(request.code == .post && request.uriPath == ["bs"] && request.uriQuery == ["ep=dev1", "pct=112"])
        #expect(await f.client.status == .bootstrapping)

        #expect(try await f.send(.request(.delete, path: "/")).code == .deleted)
        #expect(f.tree.instanceIDs(of: 3303).isEmpty && f.tree.instanceIDs(of: 0) == [0])
        // Finish with no server account: 4.06 with the reason, and the client stays in bootstrap.
        let refused = try await f.send(.request(.post, path: "/bs"))
        #expect(refused.code == .notAcceptable)
        #expect(String(buffer: refused.payload).contains("no LwM2M Server account"))
        #expect(await f.client.status == .bootstrapping)

        #expect(try await f.write(.objectInstance(securityInstance(1, uri: "coap://10.9.9.9:5683", ssid: 101)),
                                  at: .instance(0, 1), as: .tlv).code == .changed)
        #expect(try await f.write(.objectInstance(serverInstance(0, ssid: 101, lifetime: 77)),
                                  at: .instance(1, 0), as: .senmlCBOR).code == .changed)
        #expect(try await f.write(.resource(.single(7, .string("UQ"))), at: .resource(1, 0, 7), as: .senmlJSON).code == .changed)
        #expect(f.tree.value(at: .resource(1, 0, 1)) == .integer(77) && f.tree.value(at: .resource(1, 0, 7)) == .string("UQ"))
        // A payload in no LwM2M format: 4.15; a bad TLV: 4.00.
        #expect(try await f.send(.request(.put, path: "/1/0", payload: ByteBuffer(string: "x"), contentFormat: .linkFormat)).code
            == .unsupportedContentFormat)
        #expect(try await f.send(.request(.put, path: "/1/0", payload: ByteBuffer(bytes: [0xC8]), contentFormat: .init(rawValue: 11542))).code
            == .badRequest)

        var discover = CoAPMessage.request(.get, path: "/")
        discover.accept = .linkFormat
        let links = try await f.send(discover)
        #expect(links.code == .content && links.contentFormat == .linkFormat)
        let bsURI = "coap://\(f.bootstrapServer.localAddress.ipAddress!):\(f.bootstrapServer.localAddress.port!)"
        #expect(String(buffer: links.payload) == #"</>;lwm2m=1.1,</0>;ver=1.1,</0/0>;uri="\#(bsURI)",</0/1>;ssid=101;"#
            + #"uri="coap://10.9.9.9:5683",</1>;ver=1.1,</1/0>;ssid=101,</3>;ver=1.1,</3/0>,</3303>"#)

        var read = CoAPMessage.request(.get, path: "/1")
        read.accept = .init(rawValue: 11542)
        let answer = try await f.send(read)
        #expect(answer.code == .content && answer.contentFormat?.rawValue == 11542)
        let node = try f.codec.decode(answer.payloadBytes, at: .object(1), as: .tlv)
        #expect(node.records(at: .object(1)).contains { $0.path == .resource(1, 0, 1) && $0.value == .integer(77) })
        #expect(try await f.send(.request(.get, path: "/0")).code == .badRequest)
        #expect(try await f.send(.request(.delete, path: "/0/0")).code == .badRequest)
        #expect(try await f.send(.request(.post, path: "/1/0/8")).code == .methodNotAllowed)

        let finished = try await f.send(.request(.post, path: "/bs"))
        #expect(finished.code == .changed)
        #expect(await f.client.waitForCompletion())
        #expect(f.log.all == [.bootstrapRegistrationComplete, .bootstrapTransferComplete])
        let accounts = f.client.serverAccounts()
        #expect(accounts.count == 1)
        let account = try #require(accounts.first)
        #expect(account.shortServerID == 101 && account.serverURI == "coap://10.9.9.9:5683" && account.securityMode == .noSecurity)
        #expect(account.lifetime == 77 && account.binding == "UQ" && account.securityInstanceID == 1 && account.serverInstanceID == 0)
    }

    @Test("outside bootstrap the bootstrap server and any Finish get 4.01; other peers pass through")
    func unauthorized() async throws {
        let f = try await BootstrapFixture()
        await f.client.install()
        let other = CoAPEndpoint(transport: f.network.makeTransport(), clock: f.clock)
        // Before bootstrap (the bootstrap server's address is not known yet): Finish from anyone is refused.
        #expect(try await f.send(.request(.post, path: "/bs"), from: other).code == .unauthorized)
        try await f.startSession()
        #expect(try await f.send(.request(.delete, path: "/1")).code == .deleted)
        // During bootstrap, another peer cannot finish it.
        #expect(try await f.send(.request(.post, path: "/bs"), from: other).code == .unauthorized)
        _ = try await f.write(.objectInstance(securityInstance(1, uri: "coap://10.9.9.9", ssid: 1)), at: .instance(0, 1), as: .tlv)
        _ = try await f.write(.objectInstance(serverInstance(0, ssid: 1)), at: .instance(1, 0), as: .tlv)
        #expect(try await f.send(.request(.post, path: "/bs")).code == .changed)
        // After Finish: the bootstrap server can no longer write, delete or finish.
        #expect(try await f.send(.request(.delete, path: "/")).code == .unauthorized)
        #expect(try await f.write(.objectInstance(serverInstance(0, ssid: 9)), at: .instance(1, 0), as: .tlv).code == .unauthorized)
        #expect(try await f.send(.request(.post, path: "/bs")).code == .unauthorized)
        #expect(f.tree.value(at: .resource(1, 0, 0)) == .integer(1))
        // Another peer's request is not a bootstrap request: no resource serves it here (4.04).
        #expect(try await f.send(.request(.get, path: "/3/0/0"), from: other).code == .notFound)
    }

    @Test("no Finish within the session timeout: BOOTSTRAP_REG_FAILURE, then a new request after the back-off")
    func sessionTimeout() async throws {
        let f = try await BootstrapFixture(configuration: .init(
            endpointName: "dev1", sessionTimeout: .seconds(60), initialRetryDelay: .seconds(300),
            maximumRetryDelay: .seconds(300)))
        try await f.startSession()
        let start = f.clock.now
        let log = f.log
        try await f.until { log.count(of: .bootstrapRegistrationFailure) == 1 }
        // The failure comes at the session timeout (the request went out just before `start`), and the long
        // retry delay keeps the client waiting well past it.
        #expect(f.clock.now - start >= .seconds(59) && f.clock.now - start < .seconds(300))
        #expect(await f.client.status == .waiting)
        // The bootstrap server's operations are refused while waiting.
        #expect(try await f.send(.request(.delete, path: "/")).code == .unauthorized)
        try await f.until(maxVirtual: .seconds(1000)) { f.requests.withLock { $0.count } == 2 }
        #expect(f.clock.now - start >= .seconds(359))
        try await f.until { log.count(of: .bootstrapRegistrationComplete) == 2 }
    }

    @Test("a failed attempt puts the bootstrap-server account back as it was before the session")
    func restoresAccount() async throws {
        let f = try await BootstrapFixture(configuration: .init(
            endpointName: "dev1", sessionTimeout: .seconds(30), initialRetryDelay: .seconds(600)))
        guard case .objectInstance(let before) = try f.tree.read(.instance(0, 0), checkReadable: false) else {
            Issue.record("no /0/0")
            return
        }
        try await f.startSession()
        // The bootstrap server rewrites the account's URI and adds a second bootstrap account, then goes silent.
        #expect(try await f.write(.resource(.single(0, .string("coap://10.66.0.1:5683"))), at: .resource(0, 0, 0), as: .tlv).code
            == .changed)
        var second = securityInstance(5, uri: "coap://10.66.0.2:5683", ssid: 0)
        second.resources = second.resources.map { $0.id == 1 ? .single(1, .boolean(true)) : $0 }
        #expect(try await f.write(.objectInstance(second), at: .instance(0, 5), as: .tlv).code == .changed)
        // A Finish now is refused: two bootstrap accounts.
        let refused = try await f.send(.request(.post, path: "/bs"))
        #expect(refused.code == .notAcceptable && String(buffer: refused.payload).contains("several bootstrap-server accounts"))
        let log = f.log
        try await f.until { log.count(of: .bootstrapRegistrationFailure) == 1 }
        #expect(f.tree.instanceIDs(of: 0) == [0])
        #expect(try f.tree.read(.instance(0, 0), checkReadable: false) == .objectInstance(before))
    }

    @Test("the Bootstrap-Server Account Timeout (/0/x/12) purges the bootstrap account after a successful bootstrap")
    func accountTimeout() async throws {
        let f = try await BootstrapFixture()
        try await f.startSession()
        _ = try await f.write(.resource(.single(12, .integer(120))), at: .resource(0, 0, 12), as: .tlv)
        _ = try await f.write(.objectInstance(securityInstance(1, uri: "coap://10.9.9.9", ssid: 1)), at: .instance(0, 1), as: .tlv)
        _ = try await f.write(.objectInstance(serverInstance(0, ssid: 1)), at: .instance(1, 0), as: .tlv)
        #expect(try await f.send(.request(.post, path: "/bs")).code == .changed)
        let finished = f.clock.now
        #expect(f.tree.bootstrapSecurityInstance == 0)
        try await f.until { f.tree.bootstrapSecurityInstance == nil }
        #expect(f.clock.now - finished >= .seconds(119))
        #expect(f.tree.instanceIDs(of: 0) == [1])
    }

    @Test("the bootstrap account's Client Hold Off Time (/0/x/11) delays the Bootstrap-Request")
    func clientHoldOff() async throws {
        let f = try await BootstrapFixture()
        try f.tree.bootstrapWrite(.resource(.single(11, .integer(30))), at: .resource(0, 0, 11))
        let start = f.clock.now
        try await f.client.start()
        #expect(await f.client.status == .waiting)
        try await f.until { f.requests.withLock { $0.count } == 1 }
        #expect(f.clock.now - start >= .seconds(30))
    }

    @Test("a rejected Bootstrap-Request is retried with back-off until the client gives up")
    func rejectedGivesUp() async throws {
        let f = try await BootstrapFixture(configuration: .init(
            endpointName: "dev1", initialRetryDelay: .seconds(5), maximumAttempts: 3))
        f.requestCode.withLock { $0 = .badRequest }
        try await f.client.start()
        let waiter = Task { await f.client.waitForCompletion() }
        let log = f.log
        try await f.until { log.count(of: .networkError) == 1 }
        #expect(await waiter.value == false)
        #expect(log.all == [.bootstrapRegistrationFailure, .bootstrapRegistrationFailure, .bootstrapRegistrationFailure, .networkError])
        #expect(f.requests.withLock { $0.count } == 3)
        #expect(await f.client.status == .failed)
    }

    @Test("start without a bootstrap-server account throws")
    func noAccount() async throws {
        let clock = CoAPVirtualClock()
        let network = CoAPSimulatedNetwork(clock: clock)
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        let client = LwM2MBootstrapClient(
            configuration: .init(endpointName: "x"), tree: tree,
            endpoint: CoAPEndpoint(transport: network.makeTransport(), clock: clock))
        await #expect(throws: LwM2MClientError.notFound(.root)) { try await client.start() }
    }

    @Test("server-initiated bootstrap: Execute on /1/x/9 of a registered client sends a Bootstrap-Request")
    func trigger() async throws {
        let f = try await BootstrapFixture()
        let server = await ScriptedServer(network: f.network)
        try LwM2MStandardObjects.installSecurity(
            in: f.tree, instanceID: 1, serverURI: "coap://\(server.address.ipAddress!):5683", shortServerID: 1)
        try f.tree.bootstrapWrite(.objectInstance(serverInstance(0, ssid: 1)), at: .instance(1, 0))
        let client = LwM2MClient(
            configuration: .init(registration: .init(endpointName: "dev1", lifetime: 300), server: server.address),
            tree: f.tree, endpoint: f.endpoint)
        let events = EventLog(client)
        await f.client.install()
        await client.start()
        try await f.until { events.count(of: .registrationComplete) == 1 }
        #expect(f.requests.withLock { $0.isEmpty })
        let response = try await f.send(.request(.post, path: "/1/0/9"), from: server.endpoint)
        #expect(response.code == .changed)
        try await f.until { f.log.count(of: .bootstrapRegistrationComplete) == 1 }
        #expect(f.requests.withLock { $0.first?.uriQuery } == ["ep=dev1", "pct=112"])
        // The DM server still reaches the DM interface while the bootstrap server configures the client.
        let read = try await f.send(.request(.get, path: "/3/0/0"), from: server.endpoint)
        #expect(read.code == .content)
    }
}

@Suite("docs/ClientKit.md bootstrap example")
struct BootstrapDocExampleTests {
    @Test("the Bootstrap example: bootstrap, then register with the written account")
    func example() async throws {
        let f = try await BootstrapFixture()
        let dm = await ScriptedServer(network: f.network)
        let bsURI = "coap://\(f.bootstrapServer.localAddress.ipAddress!):\(f.bootstrapServer.localAddress.port!)"
        let endpoint = CoAPEndpoint(transport: f.network.makeTransport(), clock: f.clock)
        // The bootstrap server's session, scripted: it starts when the Bootstrap-Request arrives.
        let script = Task {
            try await f.until { f.requests.withLock { !$0.isEmpty } }
            #expect(try await f.send(.request(.delete, path: "/"), to: endpoint).code == .deleted)
            let security = securityInstance(1, uri: "coap://\(dm.address.ipAddress!):5683", ssid: 3)
            _ = try await f.write(.objectInstance(security), at: .instance(0, 1), as: .tlv, to: endpoint)
            _ = try await f.write(.objectInstance(serverInstance(0, ssid: 3, lifetime: 99)), at: .instance(1, 0), as: .tlv, to: endpoint)
            #expect(try await f.send(.request(.post, path: "/bs"), to: endpoint).code == .changed)
        }
        // --- as in docs/ClientKit.md (transport, clock and URI replaced by the simulated ones) ---
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        try LwM2MStandardObjects.installSecurity(in: tree, serverURI: bsURI, shortServerID: 0, isBootstrapServer: true)
        try tree.addObject(1)
        try LwM2MStandardObjects.installDevice(in: tree)
        let bootstrap = LwM2MBootstrapClient(configuration: .init(endpointName: "dev1"), tree: tree, endpoint: endpoint)
        guard try await bootstrap.bootstrap(),
              let configuration = try await bootstrap.clientConfiguration(registration: .init(endpointName: "dev1"))
        else { fatalError("bootstrap failed") }
        let client = LwM2MClient(configuration: configuration, tree: tree, endpoint: endpoint)
        await client.start()
        // ---
        _ = try await script.value
        let log = EventLog(client)
        try await f.until { log.count(of: .registrationComplete) == 1 }
        let register = try #require(dm.messages.first)
        #expect(register.uriQuery.contains("lt=99") && register.uriQuery.contains("ep=dev1"))
        #expect(configuration.shortServerID == 3)
    }
}
