public import CoAPCore
public import Codecs
public import LwM2MModel
public import Logging
public import NIOCore

/// An LwM2M client (device) for one server: registers its object tree over a `CoAPEndpoint`, keeps the
/// registration alive with the registration engine, serves the DM interface (Read, Discover, Write,
/// Write-Attributes, Execute, Create, Delete, Read-/Write-Composite), sends notifications for observations
/// and data with Send.
///
/// ```swift
/// let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
/// try LwM2MStandardObjects.installServer(in: tree, shortServerID: 1, lifetime: 300)
/// try LwM2MStandardObjects.installDevice(in: tree)
/// let client = LwM2MClient(
///     configuration: .init(registration: .init(endpointName: "dev1", lifetime: 300), server: serverAddress),
///     tree: tree, endpoint: CoAPEndpoint(transport: transport))
/// await client.start()
/// for await event in client.events { print(event) }
/// ```
public actor LwM2MClient {
    /// The client's configuration.
    public struct Configuration: Sendable {
        /// How to register.
        public var registration: LwM2MRegistrationConfiguration
        /// The server's address.
        public var server: SocketAddress
        /// The server account's Short Server ID (the instance of /1 with that /1/x/0 is the server's).
        public var shortServerID: UInt16
        /// The format of Send payloads.
        public var sendFormat: LwM2MContentFormat

        /// Creates a configuration.
        public init(
            registration: LwM2MRegistrationConfiguration, server: SocketAddress, shortServerID: UInt16 = 1,
            sendFormat: LwM2MContentFormat = .senmlCBOR
        ) {
            self.registration = registration
            self.server = server
            self.shortServerID = shortServerID
            self.sendFormat = sendFormat
        }
    }

    /// An active observation as the `obs` shell command lists it.
    public struct ObservationInfo: Sendable, Hashable {
        /// The observed path.
        public var path: LwM2MPath
        /// The server's token.
        public var token: CoAPToken
        /// The effective attributes (for a composite observation: the shortest periods of its members).
        public var attributes: LwM2MNotificationAttributes
        /// The paths of an Observe-Composite observation (nil for a single-path one).
        public var compositePaths: [LwM2MPath]? = nil
    }

    struct Observation: Sendable {
        var path: LwM2MPath
        /// Observe-Composite: every observed path (`path` is the first).
        var composite: [LwM2MPath]? = nil
        var peer: SocketAddress
        var token: CoAPToken
        var format: LwM2MContentFormat
        var sequence: UInt32
        var attributes: LwM2MNotificationAttributes
    }

    /// The configuration.
    public nonisolated let configuration: Configuration
    /// The object tree served.
    public nonisolated let tree: LwM2MObjectTree
    /// The CoAP endpoint.
    public nonisolated let endpoint: CoAPEndpoint
    /// The logger.
    public nonisolated let logger: Logger
    /// The registration events (Zephyr's RD client events).
    public nonisolated let events: AsyncStream<LwM2MRDClientEvent>
    private nonisolated let eventContinuation: AsyncStream<LwM2MRDClientEvent>.Continuation
    private let payloads: LwM2MClientPayloads

    private var engine: LwM2MRegistrationStateMachine
    private var notifications = LwM2MNotificationStateMachine()
    private var observations: [UInt64: Observation] = [:]
    private var nextObservation: UInt64 = 0
    private var attributes: [LwM2MPath: LwM2MNotificationAttributes] = [:]
    private var timer = CoAPDeadlineTimer()
    private var isPaused = false
    private var structureVersion: UInt64
    /// Queue mode: an Update sent to wake up is in flight; Sends and notifications wait for its answer.
    private var wakePending = false
    private var wakeWaiters: [CheckedContinuation<Void, Never>] = []
    private var heldNotifications: Set<UInt64> = []

    /// Creates a client; it starts serving requests at once and registers on `start()`.
    public init(
        configuration: Configuration, tree: LwM2MObjectTree, endpoint: CoAPEndpoint,
        logger: Logger = Logger(label: "lwm2m.client", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.configuration = configuration
        self.tree = tree
        self.endpoint = endpoint
        self.logger = logger
        self.engine = LwM2MRegistrationStateMachine(configuration: configuration.registration)
        self.payloads = LwM2MClientPayloads(definitions: tree.definitions)
        (events, eventContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        _ = tree.takeStructureChange()
        structureVersion = tree.structureVersion
        Task { await self.install() }
    }

    private var now: NIODeadline { endpoint.clock.now }

    private func install() async {
        // Notifications follow the LwM2M attributes (pmin, pmax, gt, lt, st), so the client answers Observe itself.
        await endpoint.setManagesObservers(false)
        // A server that forgot an observation rejects its NON notifications with RST (RFC 7641 3.6, 4.5):
        // drop the observer then, not only when a CON notification is rejected.
        await endpoint.onNonConfirmableReset { [weak self] peer, token in
            guard let self else { return }
            Task { await self.removeObservations(peer: peer, token: token) }
        }
        await endpoint.register(CoAPResource(path: [], matchesSubpaths: true, isDiscoverable: false) { [weak self] request in
            guard let self else { throw CoAPError(.serviceUnavailable, "the client is gone") }
            return try await self.handle(request)
        })
        tree.addChangeListener { [weak self] paths in
            guard let self else { return }
            Task { await self.treeChanged(paths) }
        }
        guard let server = serverInstance else { return }
        tree.onExecute(1, server, 8) { [weak self] _, _ in await self?.triggerUpdate() }
        tree.onExecute(1, server, 4) { [weak self] _, _ in
            guard let self else { return }
            var seconds: Int64 = 86_400
            if case .integer(let t) = self.tree.value(at: .resource(1, server, 5)) { seconds = t }
            await self.disable(for: .seconds(seconds))
        }
        tree.onWrite(1, server, 1) { [weak self] _, value in
            guard case .integer(let lt) = value, lt > 0, lt <= Int64(UInt32.max) else { return }
            Task { await self?.setLifetime(UInt32(lt)) }
        }
    }

    /// The /1 instance of this client's server account.
    nonisolated var serverInstance: UInt16? {
        tree.instanceIDs(of: 1).first { tree.value(at: .resource(1, $0, 0)) == .integer(Int64(configuration.shortServerID)) }
    }

    // MARK: - Registration control

    /// The registration engine's status.
    public var status: LwM2MRegistrationStateMachine.Status { engine.status }
    /// The registration's location path at the server while registered.
    public var location: [String]? { engine.location }

    /// Registers with the server (shell `start`).
    public func start() { perform(engine.start(now: now)) }
    /// De-registers; the events stream then yields `DISCONNECT` (shell `stop`).
    public func stop() { perform(engine.stop(now: now)) }
    /// Stops; with `force`, at once without De-register (shell `stop -f`: the server keeps the registration
    /// until its lifetime runs out).
    public func stop(force: Bool) { perform(force ? engine.forceStop() : engine.stop(now: now)) }
    /// Sends a registration Update now (or when the 15 s flood guard allows; shell `update`, /1/x/8).
    public func triggerUpdate() { perform(engine.triggerUpdate(now: now)) }
    /// Pauses the engine and notifications (shell `pause`).
    public func pause() {
        isPaused = true
        perform(engine.pause(now: now))
    }
    /// Resumes after `pause()` (shell `resume`).
    public func resume() {
        isPaused = false
        perform(engine.resume(now: now))
    }
    /// Disables the server account for `duration` (what /1/x/4 does).
    public func disable(for duration: TimeAmount) { perform(engine.disable(for: duration, now: now)) }
    /// Changes the lifetime and tells the server in an Update.
    public func setLifetime(_ lifetime: UInt32) { perform(engine.setLifetime(lifetime, now: now)) }

    /// Stops timers, finishes the events stream and closes the endpoint.
    public func close() async {
        timer.cancel()
        eventContinuation.finish()
        await endpoint.close()
    }

    /// The active observations (shell `obs`).
    public var activeObservations: [ObservationInfo] {
        observations.values.map {
            ObservationInfo(path: $0.path, token: $0.token, attributes: $0.attributes, compositePaths: $0.composite)
        }
        .sorted { $0.path < $1.path }
    }

    // MARK: - Send

    /// Sends the current values of `paths` to the server with the Send operation (`POST /dp`, LwM2M 1.1) and
    /// returns the server's response code.
    public func send(paths: [LwM2MPath]) async throws -> CoAPCode {
        var records: [LwM2MRecord] = []
        for path in paths {
            let node = try tree.read(path)
            records += node.records(at: path)
        }
        // Queue mode: a client that stopped listening sends an Update first and the Send after its answer.
        wakeForSending()
        if wakePending { await withCheckedContinuation { wakeWaiters.append($0) } }
        if Self.carriesTime(configuration.sendFormat) { records = tree.timeSeries.drainingTimeSeries(records) }
        let payload = try payloads.encode(records: records, as: configuration.sendFormat)
        let message = CoAPMessage.request(
            .post, path: "/dp", payload: ByteBuffer(bytes: payload),
            contentFormat: CoAPContentFormat(rawValue: configuration.sendFormat.rawValue))
        return try await endpoint.request(message, to: configuration.server).code
    }

    // MARK: - Driving the engine

    private func perform(_ actions: [LwM2MRegistrationStateMachine.Action]) {
        for action in actions {
            switch action {
            case .emit(let event):
                logger.info("registration event", metadata: ["event": "\(event)"])
                eventContinuation.yield(event)
            case .setReceiving(let on):
                // Queue mode: the endpoint drops every datagram while off (RX off after the awake window).
                logger.debug("queue mode receiving", metadata: ["on": "\(on)"])
                endpoint.setReceiving(on)
            case .send(let request):
                let message = registrationMessage(request)
                let endpoint = self.endpoint
                let server = configuration.server
                Task {
                    let outcome: LwM2MRegistrationStateMachine.Outcome
                    do {
                        let response = try await endpoint.request(message, to: server)
                        outcome = response.code.isSuccess
                            ? .success(location: response.locationPath) : .rejected(response.code)
                    } catch {
                        outcome = .timeout
                    }
                    self.deliver(outcome, for: request.id)
                }
            }
        }
        rescheduleTimer()
    }

    private func deliver(_ outcome: LwM2MRegistrationStateMachine.Outcome, for id: UInt64) {
        perform(engine.receive(outcome, for: id, now: now))
        guard wakePending else { return }
        switch engine.status {
        case .registering, .updating, .waitingToRegister:
            return  // still waking up
        case .registered:
            finishWake(deliverHeld: true)
        default:
            finishWake(deliverHeld: false)
        }
    }

    /// Queue mode: tells the engine there is something to send; when that takes an Update (RX was off), what
    /// is sent waits for the Update's answer.
    private func wakeForSending() {
        let actions = engine.wakeForSending(now: now)
        if actions.contains(where: { if case .send = $0 { true } else { false } }) { wakePending = true }
        perform(actions)
    }

    /// The Update that woke the client was answered (or the registration was lost): release what waited.
    private func finishWake(deliverHeld: Bool) {
        wakePending = false
        let waiters = wakeWaiters
        wakeWaiters = []
        for w in waiters { w.resume() }
        let held = heldNotifications.sorted()
        heldNotifications = []
        if deliverHeld { for id in held { transmit(id) } }
    }

    /// The CoAP message for a registration request.
    func registrationMessage(_ request: LwM2MRegistrationStateMachine.Request) -> CoAPMessage {
        let links = { ByteBuffer(string: self.tree.registrationLinks(version: self.configuration.registration.version)) }
        switch request {
        case .register(_, let query):
            return .request(.post, path: "/rd", query: query, payload: links(), contentFormat: .linkFormat)
        case .update(_, let location, let query, let includesObjects):
            return .request(
                .post, path: "/" + location.joined(separator: "/"), query: query,
                payload: includesObjects ? links() : ByteBuffer(), contentFormat: includesObjects ? .linkFormat : nil)
        case .deregister(_, let location):
            return .request(.delete, path: "/" + location.joined(separator: "/"))
        }
    }

    private func rescheduleTimer() {
        let next = isPaused ? nil : [engine.nextDeadline, notifications.nextDeadline].compactMap { $0 }.min()
        timer.schedule(next, on: endpoint.clock) { [weak self] deadline in
            await self?.timerFired(deadline)
        }
    }

    private func timerFired(_ deadline: NIODeadline) {
        guard timer.claim(deadline) else { return }
        let now = self.now
        perform(engine.advance(to: now))
        let tree = self.tree
        for id in notifications.advance(to: now, value: { Self.number(tree.value(at: $0)) }) { notify(id) }
        rescheduleTimer()
    }

    // MARK: - Changes and notifications

    private func treeChanged(_ paths: Set<LwM2MPath>) {
        // Each client of a multi-server device keeps its own mark, so every server hears of the change.
        let version = tree.structureVersion
        if version != structureVersion {
            structureVersion = version
            _ = tree.takeStructureChange()
            perform(engine.objectsDidChange(now: now))
        }
        guard !isPaused else { return }
        let tree = self.tree
        let due = notifications.changed(paths, now: now) { Self.number(tree.value(at: $0)) }
        for id in due { notify(id) }
        rescheduleTimer()
    }

    static func number(_ value: LwM2MValue?) -> Double? {
        switch value {
        case .integer(let v): return Double(v)
        case .unsignedInteger(let v): return Double(v)
        case .float(let v): return v
        case .time(let v): return Double(v)
        default: return nil
        }
    }

    /// Commits notification `id` in the rules (so pmin/pmax count from now) and sends it, unless the client
    /// is waking up in queue mode: then it goes out with the then current values after the Update's answer.
    private func notify(_ id: UInt64) {
        guard let observation = observations[id] else { return }
        let tree = self.tree
        if observation.composite != nil {
            notifications.sent(id, now: now) { $0.level >= .resource ? Self.number(tree.value(at: $0)) : nil }
        } else {
            notifications.sent(id, value: Self.number(tree.value(at: observation.path)), now: now)
        }
        wakeForSending()
        if wakePending {
            heldNotifications.insert(id)
            return
        }
        transmit(id)
    }

    /// The payload of a notification of `observation` (time series drained when the format carries time).
    private func notificationPayload(_ observation: Observation) throws(LwM2MClientError) -> [UInt8] {
        if let paths = observation.composite {
            return try encodeRecords(try compositeRecords(paths), as: observation.format)
        }
        return try encodeReport(
            accessControl.readable(try tree.read(observation.path)), at: observation.path, as: observation.format)
    }

    /// Sends a notification of observation `id` with the current values.
    private func transmit(_ id: UInt64) {
        guard var observation = observations[id] else { return }
        let payload: [UInt8]
        do {
            payload = try notificationPayload(observation)
        } catch {
            // The observed path is gone: end the observation with the error code (RFC 7641 3.2).
            let code = error.responseCode
            let message = CoAPMessage(type: .confirmable, code: code, messageID: 0, token: observation.token)
            let endpoint = self.endpoint
            Task { try? await endpoint.send(message, to: observation.peer) }
            removeObservation(id)
            return
        }
        observation.sequence = (observation.sequence + 1) & 0xFF_FFFF
        observations[id] = observation
        // NON notifications, with a CON every 20th so that a vanished observer is eventually detected.
        var message = CoAPMessage(
            type: observation.sequence % 20 == 0 ? .confirmable : .nonConfirmable, code: .content, messageID: 0,
            token: observation.token, payload: ByteBuffer(bytes: payload))
        message.observe = observation.sequence
        message.contentFormat = CoAPContentFormat(rawValue: observation.format.rawValue)
        let endpoint = self.endpoint
        let peer = observation.peer
        Task {
            do {
                try await endpoint.send(message, to: peer)
            } catch let error as CoAPExchangeError {
                if error.code == .reset || error.code == .transmissionTimeout { self.removeObservation(id) }
            } catch {}
        }
    }

    private func removeObservations(peer: SocketAddress, token: CoAPToken) {
        for (id, o) in observations where o.peer == peer && o.token == token { removeObservation(id) }
    }

    private func removeObservation(_ id: UInt64) {
        observations.removeValue(forKey: id)
        notifications.remove(id)
        heldNotifications.remove(id)
    }

    // MARK: - Time series and composite payloads

    /// Whether `format` carries timestamps, so that cached time series go out in it.
    static func carriesTime(_ format: LwM2MContentFormat) -> Bool {
        format == .senmlJSON || format == .senmlCBOR || format == .lwm2mJSON
    }

    /// Encodes `node` at `path`; in a format that carries time, cached resources under `path` go out as their
    /// drained time series.
    private func encodeReport(_ node: LwM2MNode, at path: LwM2MPath, as format: LwM2MContentFormat) throws(LwM2MClientError) -> [UInt8] {
        guard Self.carriesTime(format), tree.timeSeries.hasEntries(under: path) else {
            return try payloads.encode(node, at: path, as: format)
        }
        return try payloads.encode(records: tree.timeSeries.drainingTimeSeries(node.records(at: path)), as: format)
    }

    /// Encodes composite `records`, draining time series when the format carries time.
    private func encodeRecords(_ records: [LwM2MRecord], as format: LwM2MContentFormat) throws(LwM2MClientError) -> [UInt8] {
        try payloads.encode(records: Self.carriesTime(format) ? tree.timeSeries.drainingTimeSeries(records) : records, as: format)
    }

    /// The current records of `paths`; paths not found are left out (Core TS 6.3.1.2).
    private func compositeRecords(_ paths: [LwM2MPath]) throws(LwM2MClientError) -> [LwM2MRecord] {
        var records: [LwM2MRecord] = []
        for path in paths where tree.contains(path) {
            // Access Control per path (FETCH is not checked at dispatch).
            try accessControl.authorize(.read, path)
            records += accessControl.readable(try tree.read(path)).records(at: path)
        }
        return records
    }

    static func value(of node: LwM2MNode) -> LwM2MValue? {
        switch node {
        case .resource(let r): return r.value
        case .resourceInstance(let ri): return ri.value
        default: return nil
        }
    }

    /// The effective attributes of `path`: resource over instance over object over the server's defaults.
    func effectiveAttributes(_ path: LwM2MPath) -> LwM2MNotificationAttributes {
        var defaults = LwM2MNotificationAttributes()
        if let server = serverInstance {
            if case .integer(let v) = tree.value(at: .resource(1, server, 2)), v >= 0 { defaults.pmin = UInt32(clamping: v) }
            if case .integer(let v) = tree.value(at: .resource(1, server, 3)), v > 0 { defaults.pmax = UInt32(clamping: v) }
        }
        var chain: [LwM2MPath] = []
        var p: LwM2MPath? = path
        while let current = p, current.depth > 0 {
            chain.append(current)
            p = current.parent
        }
        var result = defaults
        for level in chain.reversed() {
            if let a = attributes[level] { result = a.inheriting(from: result) }
        }
        return result
    }

    // MARK: - DM interface

    private func handle(_ request: CoAPIncomingRequest) async throws -> CoAPMessage {
        engine.serverActivity(now: now)
        do {
            return try await dispatch(request)
        } catch let error as LwM2MClientError {
            logger.debug("DM request refused", metadata: ["path": "\(request.message.uriPathString)", "error": "\(error)"])
            throw error.coapError
        }
    }

    private func dispatch(_ request: CoAPIncomingRequest) async throws -> CoAPMessage {
        let message = request.message
        let path = try LwM2MClientPayloads.path(message.uriPath)
        // Access Control (object 2) when several server accounts exist; the Security object never.
        if let operation = LwM2MAccessControl.operation(of: message, at: path), message.code != .fetch,
           message.code != .iPatch {
            try accessControl.authorize(operation, path)
        }
        switch message.code {
        case .get:
            if message.accept == .linkFormat { return try discover(path) }
            if message.observe == 0 { return try observe(path, request) }
            if message.observe == 1 { cancelObservation(token: message.token, peer: request.peer) }
            return try read(path, accept: message.accept)
        case .put:
            if message.payload.readableBytes == 0 && !message.uriQuery.isEmpty { return try writeAttributes(path, message.uriQuery) }
            return try write(path, message, replace: true)
        case .post:
            switch path.level {
            case .resource:
                let args = String(buffer: message.payload)
                try await tree.execute(path, arguments: args)
                return .response(.changed)
            case .object: return try create(path, message)
            case .objectInstance: return try write(path, message, replace: false)
            default: throw LwM2MClientError.methodNotAllowed("POST on \(path)", path)
            }
        case .delete:
            guard path.level == .objectInstance, let o = path.objectID, let i = path.instanceID else {
                throw LwM2MClientError.methodNotAllowed("delete needs an instance path", path)
            }
            if o == 0 || (o == 1 && tree.value(at: .resource(1, i, 0)) == .integer(Int64(configuration.shortServerID))) {
                throw LwM2MClientError(code: .unauthorized, reason: "the server cannot delete its own account", path: path)
            }
            let removedServer = o == 1 ? LwM2MServerAccount.integer(tree.value(at: .resource(1, i, 0))) : nil
            try tree.deleteInstance(o, i)
            try accessControl.didDelete(objectID: o, instanceID: i)
            if let ssid = removedServer.flatMap({ UInt16(exactly: $0) }) {
                try LwM2MAccessControl.removeServerAccount(shortServerID: ssid, from: tree)
            }
            return .response(.deleted)
        case .fetch:
            if message.observe == 0 { return try observeComposite(request) }
            // Observe = 1: the server cancels a composite observation actively and gets the values once more.
            if message.observe == 1 { cancelObservation(token: message.token, peer: request.peer) }
            return try readComposite(message)
        case .iPatch:
            return try writeComposite(message)
        default:
            throw LwM2MClientError.methodNotAllowed("method \(message.code)", path)
        }
    }

    private func responseFormat(_ accept: CoAPContentFormat?, for node: LwM2MNode) throws(LwM2MClientError) -> LwM2MContentFormat {
        guard let accept else { return LwM2MClientPayloads.defaultFormat(for: node, version: configuration.registration.version) }
        return try LwM2MClientPayloads.format(accept.rawValue, forPayload: false)
    }

    /// Access control for this client's server account.
    nonisolated var accessControl: LwM2MAccessControl {
        LwM2MAccessControl(tree: tree, shortServerID: configuration.shortServerID)
    }

    private func read(_ path: LwM2MPath, accept: CoAPContentFormat?) throws -> CoAPMessage {
        let node = accessControl.readable(try tree.read(path))
        let format = try responseFormat(accept, for: node)
        let bytes = try encodeReport(node, at: path, as: format)
        return .response(.content, payload: ByteBuffer(bytes: bytes), contentFormat: CoAPContentFormat(rawValue: format.rawValue))
    }

    private func observe(_ path: LwM2MPath, _ request: CoAPIncomingRequest) throws -> CoAPMessage {
        let node = accessControl.readable(try tree.read(path))
        let format = try responseFormat(request.message.accept, for: node)
        let bytes = try encodeReport(node, at: path, as: format)
        // A new observation with the same token replaces the old one (RFC 7641 4.1).
        cancelObservation(token: request.message.token, peer: request.peer)
        nextObservation += 1
        let id = nextObservation
        let attributes = effectiveAttributes(path)
        observations[id] = Observation(
            path: path, peer: request.peer, token: request.message.token, format: format, sequence: 0, attributes: attributes)
        notifications.add(id, path: path, attributes: attributes, value: Self.number(Self.value(of: node)), now: now)
        rescheduleTimer()
        var response = CoAPMessage.response(
            .content, payload: ByteBuffer(bytes: bytes), contentFormat: CoAPContentFormat(rawValue: format.rawValue))
        response.observe = 0
        return response
    }

    private func cancelObservation(token: CoAPToken, peer: SocketAddress) {
        for (id, o) in observations where o.token == token && o.peer == peer { removeObservation(id) }
    }

    private func write(_ path: LwM2MPath, _ message: CoAPMessage, replace: Bool) throws -> CoAPMessage {
        guard let cf = message.contentFormat else { throw LwM2MClientError.badRequest("write without Content-Format", path) }
        let format = try LwM2MClientPayloads.format(cf.rawValue, forPayload: true)
        let node = try payloads.decode(message.payloadBytes, at: path, as: format)
        try tree.write(node, at: path, replace: replace)
        return .response(.changed)
    }

    private func create(_ path: LwM2MPath, _ message: CoAPMessage) throws -> CoAPMessage {
        guard let objectID = path.objectID else { throw LwM2MClientError.methodNotAllowed("create on /", path) }
        guard tree.definition(of: objectID) != nil else { throw LwM2MClientError.notFound(path) }
        var instanceID: UInt16?
        var resources: [LwM2MResource] = []
        if message.payload.readableBytes > 0 {
            guard let cf = message.contentFormat else { throw LwM2MClientError.badRequest("create without Content-Format", path) }
            let format = try LwM2MClientPayloads.format(cf.rawValue, forPayload: true)
            switch try payloads.decode(message.payloadBytes, at: path, as: format) {
            case .object(let object):
                guard object.instances.count <= 1 else { throw LwM2MClientError.badRequest("create of several instances", path) }
                instanceID = object.instances.first?.id
                resources = object.instances.first?.resources ?? []
            case .objectInstance(let instance):
                instanceID = instance.id
                resources = instance.resources
            default:
                throw LwM2MClientError.badRequest("create payload is not an instance", path)
            }
        }
        let id = try tree.createInstance(objectID, id: instanceID, resources: resources, checkWritable: false)
        try accessControl.didCreate(objectID: objectID, instanceID: id)
        var response = CoAPMessage.response(.created)
        response.locationPath = [String(objectID), String(id)]
        return response
    }

    private func discover(_ path: LwM2MPath) throws -> CoAPMessage {
        guard let objectID = path.objectID, let definition = tree.definition(of: objectID) else {
            throw LwM2MClientError.notFound(path)
        }
        guard path.level <= .resource else { throw LwM2MClientError.badRequest("discover of a resource instance", path) }
        let node = accessControl.readable(try tree.read(path, checkReadable: false))
        func attrs(_ p: LwM2MPath) -> String {
            guard let a = attributes[p] else { return "" }
            var s = ""
            if let v = a.pmin { s += ";pmin=\(v)" }
            if let v = a.pmax { s += ";pmax=\(v)" }
            if let v = a.gt { s += ";gt=\(v)" }
            if let v = a.lt { s += ";lt=\(v)" }
            if let v = a.st { s += ";st=\(v)" }
            if let v = a.epmin { s += ";epmin=\(v)" }
            if let v = a.epmax { s += ";epmax=\(v)" }
            return s
        }
        var links: [String] = []
        func instanceLinks(_ instance: LwM2MObjectInstance) -> [String] {
            var links: [String] = []
            let ipath = LwM2MPath.instance(objectID, instance.id)
            links.append("<\(ipath)>" + attrs(ipath))
            var ids = Set(instance.resources.map(\.id))
            for rd in definition.resources where rd.operations.contains(.execute) { ids.insert(rd.id) }
            for r in ids.sorted() {
                let rpath = LwM2MPath.resource(objectID, instance.id, r)
                var link = "<\(rpath)>"
                if let count = instance[resource: r]?.instances?.count { link += ";dim=\(count)" }
                links.append(link + attrs(rpath))
            }
            return links
        }
        switch node {
        case .object(let object):
            let ver = definition.objectVersion != "1.0" ? ";ver=\(definition.objectVersion)" : ""
            links.append("<\(path)>" + ver + attrs(path))
            for instance in object.instances { links += instanceLinks(instance) }
        case .objectInstance(let instance):
            links += instanceLinks(instance)
        case .resource(let resource):
            var link = "<\(path)>"
            if let count = resource.instances?.count { link += ";dim=\(count)" }
            links.append(link + attrs(path))
        case .resourceInstance:
            break
        }
        return .response(.content, payload: ByteBuffer(string: links.joined(separator: ",")), contentFormat: .linkFormat)
    }

    private func writeAttributes(_ path: LwM2MPath, _ query: [String]) throws -> CoAPMessage {
        guard path.depth > 0, tree.contains(path) || path.level == .resource else { throw LwM2MClientError.notFound(path) }
        let (set, cleared) = try LwM2MClientPayloads.attributes(query)
        var current = attributes[path] ?? LwM2MNotificationAttributes()
        current = set.inheriting(from: current)
        if cleared.contains("pmin") { current.pmin = nil }
        if cleared.contains("pmax") { current.pmax = nil }
        if cleared.contains("gt") { current.gt = nil }
        if cleared.contains("lt") { current.lt = nil }
        if cleared.contains("st") { current.st = nil }
        if cleared.contains("epmin") { current.epmin = nil }
        if cleared.contains("epmax") { current.epmax = nil }
        if let lt = current.lt, let gt = current.gt, lt >= gt {
            throw LwM2MClientError.badRequest("lt must be below gt", path)
        }
        if let epmin = current.epmin, let epmax = current.epmax, epmax <= epmin {
            throw LwM2MClientError.badRequest("epmax must be greater than epmin", path)
        }
        attributes[path] = current == LwM2MNotificationAttributes() ? nil : current
        for (id, o) in observations {
            if let members = o.composite {
                var all: [LwM2MNotificationAttributes] = []
                for member in members {
                    let effective = effectiveAttributes(member)
                    all.append(effective)
                    if path.isPrefix(of: member) { notifications.update(id, attributes: effective, for: member) }
                }
                observations[id]?.attributes = .combined(all)
            } else if path.isPrefix(of: o.path) {
                let effective = effectiveAttributes(o.path)
                observations[id]?.attributes = effective
                notifications.update(id, attributes: effective)
            }
        }
        rescheduleTimer()
        return .response(.changed)
    }

    private func readComposite(_ message: CoAPMessage) throws -> CoAPMessage {
        guard let cf = message.contentFormat else { throw LwM2MClientError.badRequest("FETCH without Content-Format") }
        let requested = try payloads.decode(records: message.payloadBytes, as: LwM2MClientPayloads.format(cf.rawValue, forPayload: true))
        let format = try LwM2MClientPayloads.format((message.accept ?? cf).rawValue, forPayload: false)
        let bytes = try encodeRecords(try compositeRecords(requested.map(\.path)), as: format)
        return .response(.content, payload: ByteBuffer(bytes: bytes), contentFormat: CoAPContentFormat(rawValue: format.rawValue))
    }

    /// Observe-Composite (Core TS 6.4.3): FETCH with Observe = 0 and the list of paths; the notifications carry
    /// every path's values, whenever any member's attributes call for one.
    private func observeComposite(_ request: CoAPIncomingRequest) throws -> CoAPMessage {
        let message = request.message
        guard let cf = message.contentFormat else { throw LwM2MClientError.badRequest("FETCH without Content-Format") }
        let requested = try payloads.decode(records: message.payloadBytes, as: LwM2MClientPayloads.format(cf.rawValue, forPayload: true))
        var paths: [LwM2MPath] = []
        for r in requested where !paths.contains(r.path) { paths.append(r.path) }
        guard !paths.isEmpty else { throw LwM2MClientError.badRequest("Observe-Composite without paths") }
        let format = try LwM2MClientPayloads.format((message.accept ?? cf).rawValue, forPayload: false)
        let records = try compositeRecords(paths)
        guard !records.isEmpty else { throw LwM2MClientError.notFound(paths[0]) }
        let bytes = try encodeRecords(records, as: format)
        cancelObservation(token: message.token, peer: request.peer)
        nextObservation += 1
        let id = nextObservation
        let members = paths.map { (path: $0, attributes: effectiveAttributes($0)) }
        observations[id] = Observation(
            path: paths[0], composite: paths, peer: request.peer, token: message.token, format: format, sequence: 0,
            attributes: .combined(members.map(\.attributes)))
        let tree = self.tree
        notifications.addComposite(id, members: members, now: now) { Self.number(tree.value(at: $0)) }
        rescheduleTimer()
        var response = CoAPMessage.response(
            .content, payload: ByteBuffer(bytes: bytes), contentFormat: CoAPContentFormat(rawValue: format.rawValue))
        response.observe = 0
        return response
    }

    private func writeComposite(_ message: CoAPMessage) throws -> CoAPMessage {
        guard let cf = message.contentFormat else { throw LwM2MClientError.badRequest("iPATCH without Content-Format") }
        let records = try payloads.decode(records: message.payloadBytes, as: LwM2MClientPayloads.format(cf.rawValue, forPayload: true))
        for record in records { try accessControl.authorize(.write, record.path) }
        try tree.batch {
            for record in records {
                guard let value = record.value, record.path.level >= .resource else {
                    throw LwM2MClientError.badRequest("composite write needs resource values", record.path)
                }
                let resourcePath = record.path.level == .resource ? record.path : record.path.parent!
                let node: LwM2MNode = record.path.level == .resource
                    ? .resource(.single(record.path.resourceID!, value))
                    : .resourceInstance(LwM2MResourceInstance(id: record.path.resourceInstanceID!, value: value))
                try tree.write(node, at: record.path.level == .resource ? resourcePath : record.path, replace: false)
            }
        }
        return .response(.changed)
    }
}
