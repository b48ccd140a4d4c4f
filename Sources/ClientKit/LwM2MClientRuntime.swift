public import CoAPCore
public import Codecs
public import Logging
import LwM2MModel
import NIOCore
import Synchronization

/// An event of one server account, or of the bootstrap step (`shortServerID` of the bootstrap account, 0
/// when it has none).
public struct LwM2MClientRuntimeEvent: Sendable, Hashable, CustomStringConvertible {
    /// The account's Short Server ID.
    public var shortServerID: UInt16
    /// The event (Zephyr's RD client events).
    public var event: LwM2MRDClientEvent
    /// Why, for failures (e.g. the DTLS error of a failed handshake).
    public var reason: String?

    /// Creates an event.
    public init(shortServerID: UInt16, event: LwM2MRDClientEvent, reason: String? = nil) {
        self.shortServerID = shortServerID
        self.event = event
        self.reason = reason
    }

    /// `SSID 1 REGISTRATION_COMPLETE` (with the reason after a colon).
    public var description: String {
        "SSID \(shortServerID) \(event)" + (reason.map { ": \($0)" } ?? "")
    }
}

/// A device with any number of server accounts: reads the Security (0) and Server (1) objects of its tree,
/// pairs them by Short Server ID, connects every non-bootstrap account through a transport factory and runs
/// one `LwM2MClient` per account; merges their events, tagged with the Short Server ID; follows accounts
/// added, removed or changed in /0 and /1 at run time; starts the bootstrap step when no account is usable.
///
/// ```swift
/// let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
/// try LwM2MStandardObjects.installSecurity(in: tree, instanceID: 0, serverURI: "coaps://lwm2m.example.com",
///     shortServerID: 1, mode: .preSharedKey, identity: Array("dev1".utf8), secretKey: key)
/// try LwM2MStandardObjects.installServer(in: tree, instanceID: 0, shortServerID: 1, lifetime: 300)
/// try LwM2MStandardObjects.installDevice(in: tree)
/// let runtime = LwM2MClientRuntime(
///     configuration: .init(registration: .init(endpointName: "dev1")), tree: tree,
///     transports: LwM2MNetworkTransportFactory())
/// await runtime.start()
/// for await event in runtime.events { print(event) }   // "SSID 1 REGISTRATION_COMPLETE", ...
/// ```
public actor LwM2MClientRuntime {
    /// The runtime's configuration.
    public struct Configuration: Sendable {
        /// The registration settings of every account: endpoint name, version and timing. Each account's
        /// lifetime comes from its /1/y/1 and its binding from /1/y/7 (a `Q` there means queue mode).
        public var registration: LwM2MRegistrationConfiguration
        /// The format of Send payloads.
        public var sendFormat: LwM2MContentFormat
        /// The CoAP endpoint settings of every connection.
        public var endpoint: CoAPEndpoint.Configuration
        /// Consecutive failed connection attempts (e.g. DTLS handshakes) after which an account counts as
        /// failed (`NETWORK_ERROR`); the retry delays are the registration's retry delays.
        public var maximumConnectionAttempts: Int
        /// The bootstrap step, if the device supports client-initiated bootstrap.
        public var bootstrap: (any LwM2MBootstrapStep)?

        /// Creates a configuration.
        public init(
            registration: LwM2MRegistrationConfiguration, sendFormat: LwM2MContentFormat = .senmlCBOR,
            endpoint: CoAPEndpoint.Configuration = .init(), maximumConnectionAttempts: Int = 5,
            bootstrap: (any LwM2MBootstrapStep)? = nil
        ) {
            self.registration = registration
            self.sendFormat = sendFormat
            self.endpoint = endpoint
            self.maximumConnectionAttempts = maximumConnectionAttempts
            self.bootstrap = bootstrap
        }
    }

    /// The state of one account's session.
    public enum SessionState: String, Sendable, Hashable {
        /// Opening the transport (DTLS handshake) or waiting to retry.
        case connecting
        /// Running an `LwM2MClient` (registering or registered).
        case running
        /// Gave up (connection or registration failed too often); only bootstrap or `restart` revives it.
        case failed
    }

    private struct Session {
        var account: LwM2MServerAccount
        var generation: UInt64
        var state: SessionState = .connecting
        var client: LwM2MClient?
        var task: Task<Void, Never>?
        let stopping = StopFlag()
    }

    /// Set when a session is shut down, so its event task ends at the de-registration's outcome.
    private final class StopFlag: Sendable {
        private let value = Mutex(false)
        var isSet: Bool { value.withLock { $0 } }
        func set() { value.withLock { $0 = true } }
    }

    /// The configuration.
    public nonisolated let configuration: Configuration
    /// The object tree of the device (shared by every account).
    public nonisolated let tree: LwM2MObjectTree
    /// The clock (virtual in tests).
    public nonisolated let clock: any CoAPClock
    /// The logger.
    public nonisolated let logger: Logger
    /// Every account's events, tagged with its Short Server ID, plus the bootstrap step's events.
    public nonisolated let events: AsyncStream<LwM2MClientRuntimeEvent>
    private nonisolated let eventContinuation: AsyncStream<LwM2MClientRuntimeEvent>.Continuation
    private let transports: any LwM2MTransportFactory

    private var sessions: [UInt16: Session] = [:]
    private var generation: UInt64 = 0
    private var isRunning = false
    private var listener: UInt64?
    private var bootstrapTask: Task<Void, Never>?
    private var bootstrapAttempts = 0

    /// Creates a runtime; nothing happens before `start()`.
    public init(
        configuration: Configuration, tree: LwM2MObjectTree, transports: any LwM2MTransportFactory,
        clock: any CoAPClock = CoAPSystemClock(),
        logger: Logger = Logger(label: "lwm2m.client.runtime", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.configuration = configuration
        self.tree = tree
        self.transports = transports
        self.clock = clock
        self.logger = logger
        (events, eventContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    // MARK: - Public control

    /// Starts a session for every account and follows changes of /0 and /1; Execute on the Bootstrap-Request
    /// Trigger (/1/x/9) of any Server instance calls `requestBootstrap()`.
    public func start() {
        guard !isRunning else { return }
        isRunning = true
        tree.onExecute(1, nil, 9) { [weak self] _, _ in
            guard let self else { return }
            // Answer the Execute first; the bootstrap starts right after.
            Task { await self.requestBootstrap() }
        }
        listener = tree.addChangeListener { [weak self] paths in
            guard let self, paths.isEmpty || paths.contains(where: { $0.objectID == 0 || $0.objectID == 1 }) else { return }
            Task { await self.reconcile() }
        }
        reconcile()
    }

    /// De-registers from every server (waits for each `DISCONNECT` or `DEREGISTER_FAILURE`) and stops.
    public func stop() async {
        isRunning = false
        if let listener { tree.removeChangeListener(listener) }
        listener = nil
        bootstrapTask?.cancel()
        bootstrapTask = nil
        let ids = Array(sessions.keys)
        await withTaskGroup(of: Void.self) { group in
            for id in ids {
                guard let session = sessions.removeValue(forKey: id) else { continue }
                group.addTask { await Self.shutDown(session) }
            }
        }
    }

    /// Stops every session without de-registering and finishes `events`.
    public func close() async {
        isRunning = false
        if let listener { tree.removeChangeListener(listener) }
        listener = nil
        bootstrapTask?.cancel()
        for (_, session) in sessions {
            session.task?.cancel()
            await session.client?.close()
        }
        sessions = [:]
        eventContinuation.finish()
    }

    /// The accounts with a session, in Short Server ID order.
    public var accounts: [LwM2MServerAccount] { sessions.values.map(\.account).sorted { $0.shortServerID < $1.shortServerID } }

    /// The session state of an account.
    public func state(of shortServerID: UInt16) -> SessionState? { sessions[shortServerID]?.state }

    /// The running client of an account (nil while connecting or after a failure).
    public func client(for shortServerID: UInt16) -> LwM2MClient? { sessions[shortServerID]?.client }

    /// Every running client, in Short Server ID order.
    public var clients: [LwM2MClient] {
        sessions.sorted { $0.key < $1.key }.compactMap(\.value.client)
    }

    /// Reconnects a failed account (or every failed account when `shortServerID` is nil).
    public func restart(_ shortServerID: UInt16? = nil) {
        for (id, session) in sessions where session.state == .failed && (shortServerID == nil || shortServerID == id) {
            sessions[id] = nil
            startSession(session.account)
        }
    }

    /// Starts the bootstrap step now (what the Bootstrap-Request Trigger /1/x/9 asks for), if a bootstrap account
    /// and a step exist.
    public func requestBootstrap() {
        guard isRunning, bootstrapTask == nil else { return }
        guard let account = LwM2MServerAccount.accounts(in: tree).first(where: \.isBootstrapServer) else {
            logger.warning("bootstrap requested but there is no bootstrap account")
            return
        }
        runBootstrap(account)
    }

    // MARK: - Accounts

    /// Compares the accounts in the tree with the running sessions: starts new ones, stops removed ones,
    /// restarts those whose connection settings changed.
    func reconcile() {
        guard isRunning, bootstrapTask == nil else { return }
        let wanted = LwM2MServerAccount.accounts(in: tree).filter { !$0.isBootstrapServer }
        let wantedIDs = Set(wanted.map(\.shortServerID))
        for (id, session) in sessions where !wantedIDs.contains(id) {
            logger.info("server account removed", metadata: ["ssid": "\(id)"])
            sessions[id] = nil
            Task { await Self.shutDown(session) }
        }
        for account in wanted {
            if let session = sessions[account.shortServerID] {
                if session.account.sameConnection(as: account) {
                    sessions[account.shortServerID]?.account = account
                    continue
                }
                logger.info("server account changed", metadata: ["ssid": "\(account.shortServerID)"])
                sessions[account.shortServerID] = nil
                Task { await Self.shutDown(session) }
            }
            logger.info("server account added", metadata: ["account": "\(account)"])
            startSession(account)
        }
        checkBootstrap()
    }

    private func startSession(_ account: LwM2MServerAccount) {
        generation += 1
        let g = generation
        var session = Session(account: account, generation: g)
        session.task = Task { await self.connect(account.shortServerID, generation: g) }
        sessions[account.shortServerID] = session
    }

    private func isCurrent(_ id: UInt16, _ g: UInt64) -> Bool { sessions[id]?.generation == g }

    private func connect(_ id: UInt16, generation g: UInt64) async {
        var attempts = 0
        var delay = configuration.registration.initialRetryDelay
        while isCurrent(id, g), let account = sessions[id]?.account {
            do {
                let connection = try await transports.connect(account)
                guard isCurrent(id, g), !Task.isCancelled else {
                    await connection.transport.close()
                    return
                }
                run(account, connection, generation: g)
                return
            } catch {
                attempts += 1
                logger.warning("cannot connect", metadata: ["ssid": "\(id)", "error": "\(error)"])
                guard isCurrent(id, g) else { return }
                emit(id, .registrationFailure, "\(error)")
                let permanent = (error as? LwM2MConnectionError).map {
                    $0.code == .invalidConfiguration || $0.code == .unsupportedSecurityMode
                } ?? false
                if permanent || attempts >= configuration.maximumConnectionAttempts {
                    sessions[id]?.state = .failed
                    emit(id, .networkError, permanent ? "configuration error" : "gave up after \(attempts) attempts")
                    checkBootstrap()
                    return
                }
                do { try await clock.sleep(until: clock.now + delay) } catch { return }
                delay = min(delay * 2, configuration.registration.maximumRetryDelay)
            }
        }
    }

    private func run(_ account: LwM2MServerAccount, _ connection: LwM2MConnection, generation g: UInt64) {
        var registration = configuration.registration
        if let lifetime = account.lifetime, lifetime > 0 { registration.lifetime = lifetime }
        if let binding = account.binding, !binding.isEmpty {
            if binding.contains("Q") { registration.queueMode = true }
            let plain = binding.filter { $0 != "Q" }
            if !plain.isEmpty { registration.binding = plain }
        }
        var metadata = logger
        metadata[metadataKey: "ssid"] = "\(account.shortServerID)"
        let endpoint = CoAPEndpoint(
            transport: connection.transport, configuration: configuration.endpoint, clock: clock, logger: metadata)
        let client = LwM2MClient(
            configuration: .init(
                registration: registration, server: connection.server, shortServerID: account.shortServerID,
                sendFormat: configuration.sendFormat),
            tree: tree, endpoint: endpoint, logger: metadata)
        let id = account.shortServerID
        sessions[id]?.client = client
        sessions[id]?.state = .running
        let continuation = eventContinuation
        let stopping = sessions[id]?.stopping
        sessions[id]?.task = Task {
            await client.start()
            for await event in client.events {
                continuation.yield(LwM2MClientRuntimeEvent(shortServerID: id, event: event))
                self.clientEvent(id, generation: g, event)
                if stopping?.isSet == true, event == .disconnect || event == .deregisterFailure { break }
            }
        }
    }

    private func clientEvent(_ id: UInt16, generation g: UInt64, _ event: LwM2MRDClientEvent) {
        guard isCurrent(id, g) else { return }
        switch event {
        case .registrationComplete, .registrationUpdateComplete:
            sessions[id]?.state = .running
        case .networkError:
            sessions[id]?.state = .failed
            checkBootstrap()
        default:
            break
        }
    }

    /// De-registers (when registered) and closes a session that is no longer wanted.
    private static func shutDown(_ session: Session) async {
        guard let client = session.client else {
            session.task?.cancel()
            return
        }
        session.stopping.set()
        if await client.status != .idle {
            // The session's event task forwards DISCONNECT (or DEREGISTER_FAILURE) and then ends.
            await client.stop()
            await session.task?.value
        }
        session.task?.cancel()
        await client.close()
    }

    // MARK: - Bootstrap

    /// Starts the bootstrap step when a bootstrap account exists and no server account is usable.
    private func checkBootstrap() {
        guard isRunning, bootstrapTask == nil else { return }
        guard sessions.isEmpty || sessions.values.allSatisfy({ $0.state == .failed }) else { return }
        guard let account = LwM2MServerAccount.accounts(in: tree).first(where: \.isBootstrapServer) else { return }
        runBootstrap(account)
    }

    private func runBootstrap(_ account: LwM2MServerAccount) {
        guard let step = configuration.bootstrap else {
            logger.warning("bootstrap needed but no bootstrap step is configured")
            emit(account.shortServerID, .bootstrapRegistrationFailure, "no bootstrap step is configured")
            return
        }
        let continuation = eventContinuation
        let ssid = account.shortServerID
        let context = LwM2MBootstrapContext(
            account: account, tree: tree, endpointName: configuration.registration.endpointName,
            transports: transports, clock: clock, logger: logger,
            emit: { event, reason in
                continuation.yield(LwM2MClientRuntimeEvent(shortServerID: ssid, event: event, reason: reason))
            })
        bootstrapTask = Task {
            do {
                try await step.bootstrap(context)
                await self.bootstrapFinished(nil)
            } catch {
                await self.bootstrapFinished(error)
            }
        }
    }

    private func bootstrapFinished(_ error: (any Error)?) async {
        if let error {
            bootstrapAttempts += 1
            logger.warning("bootstrap failed", metadata: ["error": "\(error)"])
            let account = LwM2MServerAccount.accounts(in: tree).first(where: \.isBootstrapServer)
            emit(account?.shortServerID ?? 0, .bootstrapRegistrationFailure, "\(error)")
            var delay = configuration.registration.initialRetryDelay
            for _ in 1..<max(bootstrapAttempts, 1) { delay = min(delay * 2, configuration.registration.maximumRetryDelay) }
            let clock = self.clock
            bootstrapTask = Task {
                do { try await clock.sleep(until: clock.now + delay) } catch { return }
                self.retryBootstrap()
            }
            return
        }
        bootstrapAttempts = 0
        bootstrapTask = nil
        // Fresh sessions for every account the bootstrap server left (credentials may have changed).
        let old = sessions
        sessions = [:]
        for (_, session) in old { await Self.shutDown(session) }
        reconcile()
    }

    private func retryBootstrap() {
        bootstrapTask = nil
        checkBootstrap()
    }

    private func emit(_ id: UInt16, _ event: LwM2MRDClientEvent, _ reason: String?) {
        eventContinuation.yield(LwM2MClientRuntimeEvent(shortServerID: id, event: event, reason: reason))
    }
}
