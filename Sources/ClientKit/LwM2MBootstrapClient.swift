public import CoAPCore
import Codecs
import LwM2MModel
public import Logging
public import NIOCore

/// The client side of the LwM2M Bootstrap Interface on a `CoAPEndpoint`: client-initiated bootstrap
/// (`POST /bs?ep=NAME[&pct=N]` to the URI of the Security instance whose Bootstrap-Server resource /0/x/1 is
/// true), then the bootstrap server's Bootstrap-Discover, -Read, -Write, -Delete and -Finish on the object
/// tree, with the consistency check on Finish (4.06 and the client stays in bootstrap), a timeout for the
/// whole session, retries with back-off, the `BOOTSTRAP_*` events, and server-initiated bootstrap through
/// Execute on Bootstrap-Request Trigger (/1/x/9).
///
/// It sits in front of whatever else serves the endpoint (an `LwM2MClient`) as a middleware: requests from the
/// bootstrap server while bootstrapping go to it; outside bootstrap they, and any Bootstrap-Finish, are
/// refused with 4.01; everything else passes through.
///
/// Factory bootstrap needs none of this: the Security and Server instances configured in the tree before
/// `LwM2MClient.start()` are the factory configuration.
///
/// ```swift
/// try LwM2MStandardObjects.installSecurity(
///     in: tree, serverURI: "coap://192.0.2.5:5783", shortServerID: 0, isBootstrapServer: true)
/// let bootstrap = LwM2MBootstrapClient(configuration: .init(endpointName: "dev1"), tree: tree, endpoint: endpoint)
/// guard try await bootstrap.bootstrap(), let account = bootstrap.serverAccounts().first else { return }
/// ```
public actor LwM2MBootstrapClient {
    /// Resolves a server URI (`coap://HOST:PORT`, `coaps://...`) to the address to send to.
    public typealias Resolver = @Sendable (String) async throws -> SocketAddress

    /// The configuration.
    public nonisolated let configuration: LwM2MClientBootstrapConfiguration
    /// The object tree the bootstrap server configures.
    public nonisolated let tree: LwM2MObjectTree
    /// The endpoint (the same one the client registers from).
    public nonisolated let endpoint: CoAPEndpoint
    /// The logger.
    public nonisolated let logger: Logger
    /// The bootstrap events: `BOOTSTRAP_REG_COMPLETE`, `BOOTSTRAP_REG_FAILURE`, `BOOTSTRAP_TRANSFER_COMPLETE`
    /// and `NETWORK_ERROR` when it gives up. Single consumer.
    public nonisolated let events: AsyncStream<LwM2MRDClientEvent>
    private nonisolated let eventContinuation: AsyncStream<LwM2MRDClientEvent>.Continuation
    private nonisolated let resolver: Resolver
    private let payloads: LwM2MClientPayloads

    private var machine: LwM2MClientBootstrapStateMachine
    private var bootstrapServer: SocketAddress?
    private var installed = false
    private var timer = CoAPDeadlineTimer()
    private var waiters: [CheckedContinuation<Bool, Never>] = []
    private var triggerHandler: (@Sendable () async -> Void)?
    private var completionHandler: (@Sendable (Bool) async -> Void)?
    /// The bootstrap account as it was when bootstrap started, restored after a failed attempt.
    private var bootstrapAccount: (id: UInt16, instance: LwM2MObjectInstance)?
    private nonisolated let handlesTrigger: Bool

    /// Creates a bootstrap client; `start()` or `bootstrap()` runs it. `resolver` turns the bootstrap server's
    /// URI into an address (default: DNS/IP literal of `coap://` or `coaps://`). With `handlesTrigger` false
    /// the client leaves /1/x/9 to someone else (e.g. `LwM2MClientRuntime`).
    public init(
        configuration: LwM2MClientBootstrapConfiguration, tree: LwM2MObjectTree, endpoint: CoAPEndpoint,
        resolver: Resolver? = nil, handlesTrigger: Bool = true,
        logger: Logger = Logger(label: "lwm2m.client.bootstrap", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.handlesTrigger = handlesTrigger
        self.configuration = configuration
        self.tree = tree
        self.endpoint = endpoint
        self.logger = logger
        self.resolver = resolver ?? Self.resolve
        self.machine = LwM2MClientBootstrapStateMachine(configuration: configuration)
        self.payloads = LwM2MClientPayloads(definitions: tree.definitions)
        (events, eventContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    private var now: NIODeadline { endpoint.clock.now }

    /// The state of the bootstrap.
    public var status: LwM2MClientBootstrapStateMachine.Status { machine.status }

    /// Installs the request routing and the Bootstrap-Request Trigger (/1/x/9) without bootstrapping yet
    /// (`start()` does it too). Idempotent.
    public func install() async {
        guard !installed else { return }
        installed = true
        await endpoint.addMiddleware(LwM2MBootstrapMiddleware { [weak self] request in
            guard let self else { return nil }
            return try await self.handle(request)
        })
        guard handlesTrigger else { return }
        tree.onExecute(1, nil, 9) { [weak self] _, _ in
            guard let self else { return }
            // Answer the Execute first; the bootstrap starts after it.
            Task { await self.triggered() }
        }
    }

    /// Calls `handler` instead of starting bootstrap at once when the server executes /1/x/9 (a runtime
    /// de-registers first, then calls `start()`).
    public func onTrigger(_ handler: @escaping @Sendable () async -> Void) { triggerHandler = handler }

    /// Calls `handler` when bootstrap completes (`true`) or gives up (`false`).
    public func onCompletion(_ handler: @escaping @Sendable (Bool) async -> Void) { completionHandler = handler }

    /// Starts a client-initiated bootstrap with the bootstrap-server account of the tree. Throws 4.04-coded
    /// `LwM2MClientError` when there is none or its URI cannot be resolved.
    public func start() async throws(LwM2MClientError) {
        await install()
        guard let instance = tree.bootstrapSecurityInstance,
            case .string(let uri) = tree.value(at: .resource(0, instance, 0))
        else { throw LwM2MClientError(code: .notFound, reason: "no bootstrap-server account in /0", path: .object(0)) }
        do {
            bootstrapServer = try await resolver(uri)
        } catch {
            throw LwM2MClientError(code: .notFound, reason: "cannot resolve \(uri): \(error)", path: .resource(0, instance, 0))
        }
        logger.info("bootstrap starting", metadata: ["server": "\(uri)"])
        if case .objectInstance(let account) = try? tree.read(.instance(0, instance), checkReadable: false) {
            bootstrapAccount = (instance, account)
        }
        // The Client Hold Off Time (/0/x/11) of the bootstrap account, unless the configuration sets one.
        var holdOff: TimeAmount?
        if configuration.holdOff == .zero, case .integer(let seconds) = tree.value(at: .resource(0, instance, 11)),
            seconds > 0
        {
            holdOff = .seconds(min(seconds, 86_400))
        }
        perform(machine.start(now: now, holdOff: holdOff))
    }

    /// Starts bootstrap and waits until it completed (`true`) or gave up (`false`).
    public func bootstrap() async throws(LwM2MClientError) -> Bool {
        try await start()
        return await waitForCompletion()
    }

    /// Waits until the bootstrap in progress completes (`true`) or gives up (`false`); returns at once when
    /// none is in progress (`true` if the last one finished).
    public func waitForCompletion() async -> Bool {
        switch machine.status {
        case .finished: return true
        case .idle, .failed: return false
        default: return await withCheckedContinuation { waiters.append($0) }
        }
    }

    /// Stops bootstrapping (a pending wait returns `false`).
    public func stop() {
        machine.stop()
        resume(false)
        rescheduleTimer()
    }

    /// Stops, finishes the events stream.
    public func close() {
        stop()
        timer.cancel()
        eventContinuation.finish()
    }

    /// The usable server accounts in the tree: Server instances paired with a (non-bootstrap) Security instance
    /// of the same Short Server ID.
    public nonisolated func serverAccounts() -> [LwM2MServerAccount] {
        LwM2MServerAccount.accounts(in: tree).filter { !$0.isBootstrapServer && $0.serverInstanceID != nil }
    }

    /// The single-server `LwM2MClient` configuration for the first usable account after bootstrap: its URI
    /// resolved, its Short Server ID, and the lifetime (/1/x/1) and binding (/1/x/7) the bootstrap server wrote
    /// over those of `registration`. `nil` when there is no usable account.
    public func clientConfiguration(
        registration: LwM2MRegistrationConfiguration
    ) async throws -> LwM2MClient.Configuration? {
        guard let account = serverAccounts().first else { return nil }
        var registration = registration
        if let lifetime = account.lifetime, lifetime > 0 { registration.lifetime = lifetime }
        if let binding = account.binding, !binding.isEmpty {
            registration.binding = String(binding.filter { $0 != "Q" })
            if binding.contains("Q") { registration.queueMode = true }
        }
        let address = try await resolver(account.serverURI)
        return LwM2MClient.Configuration(registration: registration, server: address, shortServerID: account.shortServerID)
    }

    // MARK: - Driving the state machine

    private func triggered() async {
        logger.info("Bootstrap-Request Trigger executed")
        if let triggerHandler {
            await triggerHandler()
        } else {
            do { try await start() } catch { logger.warning("bootstrap trigger failed", metadata: ["error": "\(error)"]) }
        }
    }

    private func perform(_ actions: [LwM2MClientBootstrapStateMachine.Action]) {
        for action in actions {
            switch action {
            case .sendRequest(let id, let query):
                guard let server = bootstrapServer else { continue }
                let message = CoAPMessage.request(.post, path: "/bs", query: query)
                let endpoint = self.endpoint
                logger.debug("Bootstrap-Request", metadata: ["server": "\(server.hostAndPort)", "query": "\(query)"])
                Task {
                    let outcome: LwM2MClientBootstrapStateMachine.Outcome
                    do {
                        let response = try await endpoint.request(message, to: server)
                        outcome = response.code == .changed ? .accepted : .rejected(response.code)
                    } catch {
                        outcome = .timeout
                    }
                    self.deliver(outcome, for: id)
                }
            case .emit(let event):
                logger.info("bootstrap event", metadata: ["event": "\(event)"])
                if event == .bootstrapRegistrationFailure { restoreBootstrapAccount() }
                eventContinuation.yield(event)
            case .completed:
                scheduleAccountPurge()
                resume(true)
            case .gaveUp:
                resume(false)
            }
        }
        rescheduleTimer()
    }

    /// The Bootstrap-Server Account Timeout (/0/x/12): when set (> 0) after a successful bootstrap, the
    /// bootstrap account is purged that many seconds later (Core TS 1.1.1 5.2.5.2 step 3). The timer holds the
    /// tree weakly and outlives this client (the runtime's bootstrap step closes it at once).
    private func scheduleAccountPurge() {
        guard let instance = tree.bootstrapSecurityInstance,
            case .integer(let seconds) = tree.value(at: .resource(0, instance, 12)), seconds > 0
        else { return }
        let clock = endpoint.clock
        let deadline = clock.now + .seconds(seconds)
        let logger = self.logger
        Task { [weak tree] in
            do { try await clock.sleep(until: deadline) } catch { return }
            guard let tree, tree.bootstrapSecurityInstance == instance else { return }
            logger.info("Bootstrap-Server Account Timeout: purging the bootstrap account", metadata: ["instance": "\(instance)"])
            try? tree.deleteInstance(0, instance)
        }
    }

    /// After a failed attempt the bootstrap-server account keeps the values it had before (Core TS 1.1.1
    /// 5.2.5.2 step 3): a rewritten account is put back and any other bootstrap account written is removed.
    private func restoreBootstrapAccount() {
        guard let (id, instance) = bootstrapAccount else { return }
        if case .objectInstance(let current) = try? tree.read(.instance(0, id), checkReadable: false), current == instance,
            tree.instanceIDs(of: 0).filter({ tree.value(at: .resource(0, $0, 1)) == .boolean(true) }) == [id]
        {
            return
        }
        logger.info("restoring the bootstrap-server account after a failed bootstrap", metadata: ["instance": "\(id)"])
        for other in tree.instanceIDs(of: 0) where other != id && tree.value(at: .resource(0, other, 1)) == .boolean(true) {
            try? tree.deleteInstance(0, other)
        }
        if tree.instanceIDs(of: 0).contains(id) { try? tree.deleteInstance(0, id) }
        _ = try? tree.createInstance(0, id: id, resources: instance.resources, checkWritable: false)
    }

    private func resume(_ result: Bool) {
        let waiting = waiters
        waiters = []
        for waiter in waiting { waiter.resume(returning: result) }
        if let completionHandler, machine.status == .finished || machine.status == .failed {
            Task { await completionHandler(result) }
        }
    }

    private func deliver(_ outcome: LwM2MClientBootstrapStateMachine.Outcome, for id: UInt64) {
        perform(machine.receive(outcome, for: id, now: now))
    }

    private func rescheduleTimer() {
        timer.schedule(machine.nextDeadline, on: endpoint.clock) { [weak self] deadline in
            await self?.timerFired(deadline)
        }
    }

    private func timerFired(_ deadline: NIODeadline) {
        guard timer.claim(deadline) else { return }
        perform(machine.advance(to: now))
    }

    // MARK: - The Bootstrap Interface

    /// Answers `request` when it belongs to the Bootstrap Interface: the bootstrap server's operations while
    /// bootstrapping; 4.01 for requests from the bootstrap server outside bootstrap and for any
    /// Bootstrap-Finish then. `nil`: not a bootstrap request (serve it as a DM request).
    public func handle(_ request: CoAPIncomingRequest) async throws -> CoAPMessage? {
        let fromBootstrapServer = bootstrapServer != nil && request.peer == bootstrapServer
        guard machine.acceptsBootstrapOperations && fromBootstrapServer else {
            if fromBootstrapServer || (request.method == .post && request.path == ["bs"]) {
                logger.debug("bootstrap operation outside bootstrap", metadata: ["peer": "\(request.peer.hostAndPort)"])
                throw CoAPError.unauthorized("not in bootstrap")
            }
            return nil
        }
        do {
            return try serve(request.message)
        } catch let error as LwM2MClientError {
            logger.debug("bootstrap operation refused", metadata: [
                "path": "\(request.message.uriPathString)", "error": "\(error)"])
            throw error.coapError
        }
    }

    private func serve(_ message: CoAPMessage) throws -> CoAPMessage {
        if message.code == .post && message.uriPath == ["bs"] { return finish() }
        let path = try LwM2MClientPayloads.path(message.uriPath)
        let response: CoAPMessage
        switch message.code {
        case .get where message.accept == .linkFormat:
            let links = try tree.bootstrapDiscover(path, version: configuration.version.rawValue)
            response = .response(.content, payload: ByteBuffer(string: links), contentFormat: .linkFormat)
        case .get:
            let node = try tree.bootstrapRead(path)
            let format: LwM2MContentFormat
            if let accept = message.accept {
                format = try LwM2MClientPayloads.format(accept.rawValue, forPayload: false)
            } else {
                let preferred = configuration.version == .v1_1 ? configuration.preferredFormat : nil
                format = preferred ?? LwM2MClientPayloads.defaultFormat(for: node, version: configuration.version)
            }
            let bytes = try payloads.encode(node, at: path, as: format)
            response = .response(
                .content, payload: ByteBuffer(bytes: bytes), contentFormat: CoAPContentFormat(rawValue: format.rawValue))
        case .put:
            guard let cf = message.contentFormat else { throw LwM2MClientError.badRequest("write without Content-Format", path) }
            let format = try LwM2MClientPayloads.format(cf.rawValue, forPayload: true)
            let node = try payloads.decode(message.payloadBytes, at: path, as: format)
            try tree.bootstrapWrite(node, at: path)
            logger.debug("Bootstrap-Write", metadata: ["path": "\(path)"])
            response = .response(.changed)
        case .delete:
            let deleted = try tree.bootstrapDelete(path)
            logger.debug("Bootstrap-Delete", metadata: ["path": "\(path)", "deleted": "\(deleted.count)"])
            response = .response(.deleted)
        default:
            throw LwM2MClientError.methodNotAllowed("\(message.code) is not a bootstrap operation", path)
        }
        perform(machine.operationReceived(now: now))
        return response
    }

    private func finish() -> CoAPMessage {
        let problems = tree.bootstrapConsistencyProblems()
        perform(machine.finishReceived(accepted: problems.isEmpty, now: now))
        guard problems.isEmpty else {
            logger.warning("Bootstrap-Finish refused", metadata: ["problems": "\(problems)"])
            return .response(.notAcceptable, text: problems.joined(separator: "; "))
        }
        logger.info("bootstrap finished", metadata: ["accounts": "\(serverAccounts().map(\.serverURI))"])
        return .response(.changed)
    }

    // MARK: - URIs

    /// The default resolver: the host and port of a `coap://` or `coaps://` URI, resolved.
    static let resolve: Resolver = { uri in
        let parsed = try LwM2MServerURI(parsing: uri)
        return try SocketAddress.makeAddressResolvingHost(parsed.host, port: parsed.port)
    }
}

/// Routes requests to the bootstrap client before the endpoint's resources (the DM interface).
struct LwM2MBootstrapMiddleware: CoAPServerMiddleware {
    let route: @Sendable (CoAPIncomingRequest) async throws -> CoAPMessage?

    init(_ route: @escaping @Sendable (CoAPIncomingRequest) async throws -> CoAPMessage?) {
        self.route = route
    }

    func respond(to request: CoAPIncomingRequest, next: CoAPResponder) async throws -> CoAPMessage {
        if let response = try await route(request) { return response }
        return try await next(request)
    }
}
