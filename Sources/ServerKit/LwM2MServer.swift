public import CoAPCore
import Codecs
public import LwM2MModel
public import Logging
public import NIOCore
import Synchronization

/// An LwM2M server over a `CoAPEndpoint`: the registration interface and Send as CoAP resources, the downlink
/// operations as `async` functions with typed results and errors, observations as `AsyncSequence`s, one stream
/// of events, and queue mode.
///
/// ```swift
/// let transport = try await CoAPUDPTransport.bind(host: "0.0.0.0", port: 5683)
/// let server = LwM2MServer(transport: transport, definitions: registry, codec: LwM2MCodec(definitions: registry))
/// await server.start()
/// for await event in server.events { ... }
/// ```
public actor LwM2MServer: LwM2MDownlinkOperations {
    /// Settings.
    public struct Configuration: Sendable {
        /// The registration interface.
        public var registration = RegistrationConfiguration()
        /// Queue mode limits.
        public var queue = DownlinkQueue<QueuedWaiter>.Configuration()
        /// How long a downlink request waits for its response.
        public var requestTimeout: TimeAmount = .seconds(30)
        /// The default content-format choice.
        public var contentFormatPolicy: ContentFormatPolicy = .standard
        /// How many events the events stream buffers for a slow consumer (oldest dropped beyond).
        public var eventBufferSize: Int = 65_536

        /// The defaults.
        public init() {}
    }

    /// A caller waiting for a sleeping client (queue mode).
    public struct QueuedWaiter: Sendable {
        let resume: @Sendable (Result<Void, LwM2MServerError>) -> Void
    }

    /// The CoAP endpoint the server runs on.
    public nonisolated let endpoint: CoAPEndpoint
    /// Every server event: registrations, updates, de-registrations, expiries, notifications, Send.
    public nonisolated let events: AsyncStream<LwM2MServerEvent>
    /// The settings.
    public nonisolated let configuration: Configuration
    /// The object definitions.
    public nonisolated let definitions: LwM2MRegistry

    private let eventSink: AsyncStream<LwM2MServerEvent>.Continuation
    private let codec: any LwM2MPayloadCodec
    private let clock: any CoAPClock
    private let logger: Logger
    private var machine: RegistrationStateMachine<InMemoryRegistrationStore, InMemoryObservationStore>
    private var queue: DownlinkQueue<QueuedWaiter>
    private var observers: [CoAPToken: Task<Void, Never>] = [:]
    private var notificationSinks: [CoAPToken: AsyncStream<LwM2MNotification>.Continuation] = [:]
    /// Where each observation's Observe went (its token is held towards that address).
    private var observedPeers: [CoAPToken: SocketAddress] = [:]
    /// Queue mode: the addresses of queue-mode clients, checked by the endpoint for every inbound message, and the
    /// stream of those that showed up (any message wakes a sleeping client, Core TS 6.5).
    private let queueModePeers = QueueModePeers()
    private let seenPeers: AsyncStream<SocketAddress>
    private let seenPeersSink: AsyncStream<SocketAddress>.Continuation
    private var seenPeersTask: Task<Void, Never>?
    private var timer = CoAPDeadlineTimer()
    private var started = false
    private var closed = false

    /// Creates a server on `transport`; call `start()` to begin serving.
    public init(
        transport: any CoAPTransport,
        definitions: LwM2MRegistry,
        codec: any LwM2MPayloadCodec,
        configuration: Configuration = .init(),
        endpointConfiguration: CoAPEndpoint.Configuration = .init(servesWellKnownCore: false),
        clock: any CoAPClock = CoAPSystemClock(),
        logger: Logger = Logger(label: "lwm2m.server", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.endpoint = CoAPEndpoint(transport: transport, configuration: endpointConfiguration, clock: clock, logger: logger)
        self.definitions = definitions
        self.codec = codec
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        var registration = configuration.registration
        if registration.sendDecoder == nil {
            registration.sendDecoder = { format, payload in
                try codec.decode(records: Array(payload.readableBytesView), as: format)
            }
        }
        self.machine = RegistrationStateMachine(configuration: registration, logger: logger)
        self.queue = DownlinkQueue(configuration: configuration.queue)
        (events, eventSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(configuration.eventBufferSize))
        (seenPeers, seenPeersSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(4096))
    }

    /// The transport's local address.
    public nonisolated var localAddress: SocketAddress { endpoint.localAddress }

    /// Starts serving `/rd` and `/dp`.
    public func start() async {
        guard !started else { return }
        started = true
        let handler: CoAPResponder = { [weak self] request in
            guard let self else { throw CoAPError(.serviceUnavailable) }
            return await self.handleInterface(request)
        }
        await endpoint.register(
            CoAPResource(path: [configuration.registration.registrationPath], matchesSubpaths: true, handler: handler))
        await endpoint.register(CoAPResource(path: ["dp"], handler: handler))
        // Any message from a sleeping queue-mode client wakes it; other peers cost one lookup per message.
        let peers = queueModePeers
        let sink = seenPeersSink
        await endpoint.onInboundMessage { peer, _ in
            if peers.contains(peer) { sink.yield(peer) }
        }
        let seen = seenPeers
        seenPeersTask = Task { [weak self] in
            for await peer in seen { await self?.clientShowedUp(at: peer) }
        }
    }

    /// Stops: observations end, waiting callers fail with `cancelled`, the endpoint closes, `events` finishes.
    public func close() async {
        guard !closed else { return }
        closed = true
        timer.cancel()
        seenPeersSink.finish()
        seenPeersTask?.cancel()
        for (_, task) in observers { task.cancel() }
        observers.removeAll()
        observedPeers.removeAll()
        for (_, sink) in notificationSinks { sink.finish() }
        notificationSinks.removeAll()
        for r in machine.registrations.all() {
            for (_, waiter) in queue.removeAll(registrationID: r.id) {
                waiter.resume(.failure(LwM2MServerError(code: .cancelled, reason: "the server stopped")))
            }
        }
        await endpoint.close()
        eventSink.finish()
    }

    // MARK: Registration interface

    private func handleInterface(_ request: CoAPIncomingRequest) -> CoAPMessage {
        let output = machine.handle(request.message, from: request.peer, identity: request.peerIdentity, now: clock.now)
        apply(output)
        return output.response ?? .response(.internalServerError)
    }

    private func apply(_ output: RegistrationOutput) {
        for observation in output.cancelledObservations { endObservation(observation.token) }
        for event in output.events {
            switch event {
            case .registered(let r, let replaced):
                if let replaced {
                    queueModePeers.remove(replaced.address)
                    failQueued(replaced.id, reason: "the client registered again")
                }
                if r.queueMode { queueModePeers.insert(r.address) }
                wake(r)
            case .updated(let u):
                queueModePeers.remove(u.previous.address)
                if u.current.queueMode { queueModePeers.insert(u.current.address) }
                wake(u.current)
            case .deregistered(let r), .expired(let r):
                queueModePeers.remove(r.address)
                failQueued(r.id, reason: "the registration ended")
            case .notification, .send:
                break
            }
            eventSink.yield(event)
        }
        rescheduleTimer()
    }

    private func wake(_ registration: Registration) {
        guard registration.queueMode else { return }
        for (_, waiter) in queue.clientSeen(registrationID: registration.id, now: clock.now) {
            waiter.resume(.success(()))
        }
    }

    /// A message came from `peer`, the address of a queue-mode client: it is awake.
    private func clientShowedUp(at peer: SocketAddress) {
        guard let r = machine.registrations.registration(address: peer) else { return }
        wake(r)
    }

    private func failQueued(_ registrationID: String, reason: String) {
        for (_, waiter) in queue.removeAll(registrationID: registrationID) {
            waiter.resume(.failure(LwM2MServerError(code: .cancelled, reason: reason)))
        }
    }

    // MARK: Timers

    private func rescheduleTimer() {
        guard !closed else { return }
        let next = [machine.nextExpiry, queue.nextDeadline].compactMap { $0 }.min()
        guard let next else { return }
        timer.schedule(noLaterThan: next, on: clock) { [weak self] deadline in await self?.fireTimers(deadline) }
    }

    private func fireTimers(_ deadline: NIODeadline) {
        guard timer.claim(deadline) else { return }
        let now = clock.now
        for (_, waiter) in queue.expire(now: now) {
            waiter.resume(.failure(LwM2MServerError(code: .timeout, reason: "the sleeping client did not show up in time")))
        }
        apply(machine.expire(now: now))
        rescheduleTimer()
    }

    // MARK: Lookups

    /// The registration of `endpoint`.
    public func registration(endpoint: String) -> Registration? { machine.registrations.registration(endpoint: endpoint) }

    /// Every registration.
    public func registrations() -> [Registration] { machine.registrations.all() }

    /// The number of requests waiting for `endpoint`'s client to wake up (queue mode).
    public func queuedRequestCount(endpoint: String) -> Int {
        guard let r = machine.registrations.registration(endpoint: endpoint) else { return 0 }
        return queue.count(registrationID: r.id)
    }

    /// The observations of `endpoint`.
    public func observations(endpoint: String) -> [Observation] {
        guard let r = machine.registrations.registration(endpoint: endpoint) else { return [] }
        return machine.observations.observations(registrationID: r.id)
    }

    // MARK: Sending

    private func registered(_ endpoint: String) throws(LwM2MServerError) -> Registration {
        guard let r = machine.registrations.registration(endpoint: endpoint) else { throw .notRegistered(endpoint) }
        return r
    }

    /// Waits, in queue mode, until the client is awake; returns its current registration.
    private func reachable(_ endpointName: String) async throws(LwM2MServerError) -> Registration {
        let r = try registered(endpointName)
        guard r.queueMode, !queue.isAwake(registrationID: r.id, now: clock.now) else { return r }
        let result: Result<Void, LwM2MServerError> = await withCheckedContinuation { continuation in
            let once = Mutex(false)
            let waiter = QueuedWaiter { result in
                guard once.withLock({ done in
                    defer { done = true }
                    return !done
                }) else { return }
                continuation.resume(returning: result)
            }
            switch queue.enqueue(waiter, registrationID: r.id, now: clock.now) {
            case .success: rescheduleTimer()
            case .failure(let error): waiter.resume(.failure(error))
            }
        }
        try result.get()
        return try registered(endpointName)
    }

    private func send(_ request: LwM2MDownlinkRequest, to endpointName: String) async throws(LwM2MServerError)
        -> (Registration, CoAPMessage)
    {
        let r = try await reachable(endpointName)
        let message = request.message(for: r)
        let response: CoAPMessage
        do {
            response = try await endpoint.request(message, to: r.address, timeout: configuration.requestTimeout)
        } catch {
            throw Self.map(error, endpoint: endpointName, path: request.path)
        }
        return (r, try request.check(response, endpoint: endpointName))
    }

    private static func coapCode(_ error: LwM2MCodecError) -> CoAPCode {
        switch error.responseCode {
        case .notAcceptable: return .notAcceptable
        case .unsupportedContentFormat: return .unsupportedContentFormat
        case .badRequest: return .badRequest
        }
    }

    private static func map(_ error: CoAPExchangeError, endpoint: String, path: LwM2MPath) -> LwM2MServerError {
        switch error.code {
        case .responseTimeout, .transmissionTimeout: return .timeout(endpoint: endpoint, path: path)
        case .reset:
            return LwM2MServerError(code: .errorResponse, reason: "the client reset the request", endpoint: endpoint, path: path)
        case .cancelled, .closed:
            return LwM2MServerError(code: .cancelled, reason: error.reason, endpoint: endpoint, path: path)
        default:
            return LwM2MServerError(code: .badResponse, reason: error.reason, endpoint: endpoint, path: path)
        }
    }

    private func format(_ override: CoAPContentFormat?, _ r: Registration, _ kind: LwM2MRequestKind, _ path: LwM2MPath)
        -> CoAPContentFormat
    {
        override ?? configuration.contentFormatPolicy.choose(r, kind, path)
    }

    private func decodeNode(_ response: CoAPMessage, at path: LwM2MPath, requested: CoAPContentFormat, endpoint: String)
        throws(LwM2MServerError) -> LwM2MNode
    {
        let format = response.contentFormat ?? requested
        do {
            return try codec.decode(response.payloadBytes, at: path, as: format)
        } catch {
            throw LwM2MServerError(
                code: .badResponse, coapCode: .content, reason: "undecodable \(format) payload: \(error)", endpoint: endpoint,
                path: path)
        }
    }

    private func decodeRecords(_ response: CoAPMessage, requested: CoAPContentFormat, endpoint: String)
        throws(LwM2MServerError) -> [LwM2MRecord]
    {
        let format = response.contentFormat ?? requested
        do {
            return try codec.decode(records: response.payloadBytes, as: format)
        } catch {
            throw LwM2MServerError(
                code: .badResponse, coapCode: .content, reason: "undecodable \(format) payload: \(error)", endpoint: endpoint)
        }
    }

    private func encode(_ node: LwM2MNode, at path: LwM2MPath, as format: CoAPContentFormat, endpoint: String)
        throws(LwM2MServerError) -> ByteBuffer
    {
        do {
            return ByteBuffer(bytes: try codec.encode(node, at: path, as: format))
        } catch {
            throw LwM2MServerError(
                code: .invalidRequest, coapCode: Self.coapCode(error), reason: "cannot encode as \(format): \(error)",
                endpoint: endpoint, path: path)
        }
    }

    private func encode(records: [LwM2MRecord], as format: CoAPContentFormat, endpoint: String) throws(LwM2MServerError)
        -> ByteBuffer
    {
        do {
            return ByteBuffer(bytes: try codec.encode(records: records, as: format))
        } catch {
            throw LwM2MServerError(
                code: .invalidRequest, coapCode: Self.coapCode(error), reason: "cannot encode as \(format): \(error)",
                endpoint: endpoint)
        }
    }

    // MARK: Device management

    /// Read: the node at `path`, decoded and typed.
    public func read(endpoint: String, path: LwM2MPath, format: CoAPContentFormat? = nil) async throws(LwM2MServerError)
        -> LwM2MNode
    {
        let r = try registered(endpoint)
        let f = self.format(format, r, .read, path)
        let (_, response) = try await send(LwM2MDownlinkRequest(.read(path), accept: f), to: endpoint)
        return try decodeNode(response, at: path, requested: f, endpoint: endpoint)
    }

    /// Discover: the link-format answer at `path`.
    public func discover(endpoint: String, path: LwM2MPath) async throws(LwM2MServerError) -> String {
        let (_, response) = try await send(LwM2MDownlinkRequest(.discover(path)), to: endpoint)
        return String(buffer: response.payload)
    }

    /// Write (replace or partial update).
    public func write(
        endpoint: String, path: LwM2MPath, node: LwM2MNode, mode: LwM2MWriteMode, format: CoAPContentFormat? = nil
    ) async throws(LwM2MServerError) {
        let r = try registered(endpoint)
        let f = self.format(format, r, .write, path)
        let payload = try encode(node, at: path, as: f, endpoint: endpoint)
        _ = try await send(LwM2MDownlinkRequest(.write(path, mode), contentFormat: f, payload: payload), to: endpoint)
    }

    /// Write-Attributes.
    public func writeAttributes(endpoint: String, path: LwM2MPath, attributes: [String]) async throws(LwM2MServerError) {
        _ = try await send(LwM2MDownlinkRequest(.writeAttributes(path, attributes)), to: endpoint)
    }

    /// Execute.
    public func execute(endpoint: String, path: LwM2MPath, arguments: String? = nil) async throws(LwM2MServerError) {
        _ = try await send(LwM2MDownlinkRequest(.execute(path, arguments: arguments)), to: endpoint)
    }

    /// Create an object instance; returns its path (from the client's Location-Path).
    ///
    /// The payload format comes from the content-format policy (or `format`). With `instanceID` the payload is the
    /// object holding that one instance. Without it, TLV carries the bare Resource TLVs and the client assigns the
    /// ID (Core TS 1.1.1 7.4.3); SenML, LwM2M CBOR and LwM2M JSON name every record by its full path, which needs an
    /// instance ID, so the server proposes the lowest ID the client did not announce for the object.
    public func create(
        endpoint: String, objectID: UInt16, instanceID: UInt16?, resources: [LwM2MResource], format: CoAPContentFormat? = nil
    ) async throws(LwM2MServerError) -> LwM2MPath {
        let r = try registered(endpoint)
        let payload: ByteBuffer
        let f: CoAPContentFormat
        var proposedID: UInt16?
        if let instanceID {
            f = self.format(format, r, .write, .instance(objectID, instanceID))
            // The request targets the object, so the payload is the object with the one new instance (in TLV an
            // Object Instance TLV carrying the ID, as LwM2M clients expect for Create with an instance ID).
            payload = try encode(
                .object(LwM2MObject(id: objectID, instances: [LwM2MObjectInstance(id: instanceID, resources: resources)])),
                at: .object(objectID), as: f, endpoint: endpoint)
        } else {
            f = self.format(format, r, .write, .object(objectID))
            if f.canonical == CoAPContentFormat.lwm2mTLV {
                var buffer = ByteBuffer()
                for resource in resources {
                    buffer.writeImmutableBuffer(
                        try encode(.resource(resource), at: .resource(objectID, 0, resource.id), as: f, endpoint: endpoint))
                }
                payload = buffer
            } else {
                let proposed = Self.firstFreeInstanceID(r.object(objectID)?.instances ?? [])
                proposedID = proposed
                payload = try encode(
                    .object(LwM2MObject(id: objectID, instances: [LwM2MObjectInstance(id: proposed, resources: resources)])),
                    at: .object(objectID), as: f, endpoint: endpoint)
            }
        }
        let (reg, response) = try await send(
            LwM2MDownlinkRequest(.create(objectID: objectID), contentFormat: f, payload: payload), to: endpoint)
        guard
            let path = LwM2MDownlinkRequest.createdPath(
                from: response, registration: reg, objectID: objectID, fallback: instanceID ?? proposedID)
        else {
            throw LwM2MServerError(
                code: .badResponse, coapCode: .created, reason: "2.01 without a Location-Path", endpoint: endpoint)
        }
        return path
    }

    /// The lowest instance ID not in `used` (ascending), never 65535.
    static func firstFreeInstanceID(_ used: [UInt16]) -> UInt16 {
        var candidate: UInt16 = 0
        for id in used where id >= candidate {
            guard id == candidate else { break }
            candidate = id &+ 1
        }
        return min(candidate, 0xFFFE)
    }

    /// Delete an object instance.
    public func delete(endpoint: String, path: LwM2MPath) async throws(LwM2MServerError) {
        _ = try await send(LwM2MDownlinkRequest(.delete(path)), to: endpoint)
    }

    /// Read-Composite.
    public func readComposite(endpoint: String, paths: [LwM2MPath], format: CoAPContentFormat? = nil)
        async throws(LwM2MServerError) -> [LwM2MRecord]
    {
        let r = try registered(endpoint)
        let f = self.format(format, r, .composite, .root)
        let payload = try encode(records: paths.map { LwM2MRecord(path: $0, value: nil) }, as: f, endpoint: endpoint)
        let (_, response) = try await send(
            LwM2MDownlinkRequest(.readComposite, contentFormat: f, accept: f, payload: payload), to: endpoint)
        return try decodeRecords(response, requested: f, endpoint: endpoint)
    }

    /// Write-Composite.
    public func writeComposite(endpoint: String, records: [LwM2MRecord], format: CoAPContentFormat? = nil)
        async throws(LwM2MServerError)
    {
        let r = try registered(endpoint)
        let f = self.format(format, r, .composite, .root)
        let payload = try encode(records: records, as: f, endpoint: endpoint)
        _ = try await send(LwM2MDownlinkRequest(.writeComposite, contentFormat: f, payload: payload), to: endpoint)
    }

    // MARK: Information reporting

    /// Observe `path`: returns the observation and the current value; notifications arrive as `.notification`
    /// events and on `notifications(of:)`.
    public func observe(endpoint: String, path: LwM2MPath, format: CoAPContentFormat? = nil)
        async throws(LwM2MServerError) -> (Observation, LwM2MNode)
    {
        let r = try registered(endpoint)
        let f = self.format(format, r, .read, path)
        let (observation, first) = try await startObservation(
            LwM2MDownlinkRequest(.observe(path), accept: f), target: .path(path), format: f, endpoint: endpoint)
        return (observation, try decodeNode(first, at: path, requested: f, endpoint: endpoint))
    }

    /// Observe-Composite `paths`.
    public func observeComposite(endpoint: String, paths: [LwM2MPath], format: CoAPContentFormat? = nil)
        async throws(LwM2MServerError) -> (Observation, [LwM2MRecord])
    {
        let r = try registered(endpoint)
        let f = self.format(format, r, .composite, .root)
        let payload = try encode(records: paths.map { LwM2MRecord(path: $0, value: nil) }, as: f, endpoint: endpoint)
        let (observation, first) = try await startObservation(
            LwM2MDownlinkRequest(.observeComposite, contentFormat: f, accept: f, payload: payload), target: .composite(paths),
            format: f, endpoint: endpoint)
        return (observation, try decodeRecords(first, requested: f, endpoint: endpoint))
    }

    /// The notifications of `observation` as an `AsyncSequence`; it finishes when the observation ends.
    public func notifications(of observation: Observation) -> AsyncStream<LwM2MNotification> {
        let (stream, continuation) = AsyncStream<LwM2MNotification>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        if observers[observation.token] == nil {
            continuation.finish()
        } else {
            notificationSinks[observation.token]?.finish()
            notificationSinks[observation.token] = continuation
        }
        return stream
    }

    private func startObservation(
        _ request: LwM2MDownlinkRequest, target: Observation.Target, format: CoAPContentFormat, endpoint endpointName: String
    ) async throws(LwM2MServerError) -> (Observation, CoAPMessage) {
        let r = try await reachable(endpointName)
        let message = request.message(for: r)
        let stream = await endpoint.responses(for: message, to: r.address)
        let first = OneShot<Result<CoAPMessage, LwM2MServerError>>()
        let path = request.path
        let task = Task { [weak self] in
            var token: CoAPToken?
            do {
                for try await response in stream {
                    if token == nil {
                        token = response.token
                        first.fulfil(.success(response))
                        continue
                    }
                    await self?.deliverNotification(response, format: format)
                }
                first.fulfil(.failure(LwM2MServerError(code: .cancelled, reason: "observation ended", endpoint: endpointName)))
            } catch let error as CoAPExchangeError {
                first.fulfil(.failure(Self.map(error, endpoint: endpointName, path: path)))
            } catch {
                first.fulfil(.failure(LwM2MServerError(code: .badResponse, reason: "\(error)", endpoint: endpointName)))
            }
            if let token { await self?.observationEnded(token) }
        }
        let clock = self.clock
        let timeout = configuration.requestTimeout
        let deadline = clock.now + timeout
        let timer = Task {
            do { try await clock.sleep(until: deadline) } catch { return }
            first.fulfil(.failure(.timeout(endpoint: endpointName, path: path)))
        }
        let result = await first.value
        timer.cancel()
        let response: CoAPMessage
        do {
            response = try result.get()
            _ = try request.check(response, endpoint: endpointName)
        } catch {
            task.cancel()
            throw error
        }
        guard response.observe != nil else {
            // The client answered without establishing an observation: a plain read.
            task.cancel()
            let o = Observation(
                token: response.token, registrationID: r.id, endpoint: endpointName, target: target, contentFormat: format,
                createdAt: clock.now)
            return (o, response)
        }
        let observation = Observation(
            token: response.token, registrationID: r.id, endpoint: endpointName, target: target, contentFormat: format,
            createdAt: clock.now)
        // The registration may have ended while waiting.
        guard machine.registrations.registration(id: r.id) != nil else {
            task.cancel()
            throw LwM2MServerError(code: .cancelled, reason: "the registration ended", endpoint: endpointName)
        }
        machine.observations.add(observation)
        observers[observation.token] = task
        observedPeers[observation.token] = r.address
        return (observation, response)
    }

    private func deliverNotification(_ response: CoAPMessage, format: CoAPContentFormat) {
        guard let observation = machine.observations.observation(token: response.token) else { return }
        if let r = machine.registrations.registration(id: observation.registrationID) { wake(r) }
        guard response.code.isSuccess else {
            logger.debug("Observation ended by an error notification", metadata: ["code": "\(response.code)"])
            endObservation(observation.token)
            return
        }
        let content: LwM2MReportedContent
        let f = response.contentFormat ?? format
        do {
            switch observation.target {
            case .path(let path):
                if [CoAPContentFormat.senmlJSON, .senmlCBOR, .lwm2mJSON, .lwm2mCBOR].contains(f.canonical),
                    let records = try? codec.decode(records: response.payloadBytes, as: f),
                    records.contains(where: { $0.timestamp != nil })
                {
                    content = .records(records)  // time series: keep the timestamps
                } else {
                    content = .node(path, try codec.decode(response.payloadBytes, at: path, as: f))
                }
            case .composite:
                content = .records(try codec.decode(records: response.payloadBytes, as: f))
            }
        } catch {
            logger.info("Undecodable notification", metadata: ["endpoint": "\(observation.endpoint)", "error": "\(error)"])
            return
        }
        let notification = LwM2MNotification(
            observation: observation, sequence: response.observe, contentFormat: f, content: content, receivedAt: clock.now)
        notificationSinks[observation.token]?.yield(notification)
        eventSink.yield(.notification(notification))
    }

    private func observationEnded(_ token: CoAPToken) {
        guard observers[token] != nil else { return }
        _ = machine.observations.remove(token: token)
        observers[token] = nil
        observedPeers[token] = nil
        notificationSinks.removeValue(forKey: token)?.finish()
    }

    /// Forgets an observation locally (passive cancel): later notifications are answered with RST.
    private func endObservation(_ token: CoAPToken) {
        _ = machine.observations.remove(token: token)
        observers.removeValue(forKey: token)?.cancel()
        observedPeers[token] = nil
        notificationSinks.removeValue(forKey: token)?.finish()
    }

    /// Cancels the observations of `path` on `endpoint`: actively (GET with Observe = 1, same token) or passively.
    public func cancelObservation(endpoint: String, path: LwM2MPath, active: Bool = true) async throws(LwM2MServerError)
        -> Int
    {
        try await cancel(endpoint: endpoint, target: .path(path), active: active)
    }

    /// Cancels the composite observation of exactly `paths`.
    public func cancelCompositeObservation(endpoint: String, paths: [LwM2MPath], active: Bool = true)
        async throws(LwM2MServerError) -> Int
    {
        try await cancel(endpoint: endpoint, target: .composite(paths), active: active)
    }

    /// Cancels every observation of `endpoint` passively.
    public func cancelAllObservations(endpoint: String) async throws(LwM2MServerError) -> Int {
        let r = try registered(endpoint)
        let all = machine.observations.observations(registrationID: r.id)
        for o in all { endObservation(o.token) }
        return all.count
    }

    private func cancel(endpoint: String, target: Observation.Target, active: Bool) async throws(LwM2MServerError) -> Int {
        let r = try registered(endpoint)
        let matching = machine.observations.observations(registrationID: r.id).filter { $0.target == target }
        for o in matching {
            let peer = observedPeers[o.token]
            endObservation(o.token)
            // Free the token in the endpoint now: the active cancel reuses it (RFC 7641 3.6), and a passive cancel's
            // next notification must meet RST.
            if let peer { await self.endpoint.endResponses(token: o.token, peer: peer) }
            guard active else { continue }
            var request: LwM2MDownlinkRequest
            switch target {
            case .path(let p): request = LwM2MDownlinkRequest(.cancelObserve(p), accept: o.contentFormat)
            case .composite(let paths):
                let f = o.contentFormat ?? .senmlCBOR
                request = LwM2MDownlinkRequest(
                    .cancelObserveComposite, contentFormat: f, accept: f,
                    payload: try encode(records: paths.map { LwM2MRecord(path: $0, value: nil) }, as: f, endpoint: endpoint))
            }
            let message = request.message(for: r, token: o.token)
            do {
                _ = try await self.endpoint.request(message, to: r.address, timeout: configuration.requestTimeout)
            } catch {
                throw Self.map(error, endpoint: endpoint, path: request.path)
            }
        }
        return matching.count
    }
}

/// A value delivered once, awaited once.
final class OneShot<Value: Sendable>: Sendable {
    private let state = Mutex<(value: Value?, waiter: CheckedContinuation<Value, Never>?)>((nil, nil))

    func fulfil(_ value: Value) {
        let waiter: CheckedContinuation<Value, Never>? = state.withLock { s in
            guard s.value == nil else { return nil }
            s.value = value
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: value)
    }

    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let ready: Value? = state.withLock { s in
                    if let v = s.value { return v }
                    s.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}

/// The addresses of queue-mode clients, read by the endpoint for every inbound message (any actor).
final class QueueModePeers: Sendable {
    private let addresses = Mutex<Set<SocketAddress>>([])

    func contains(_ peer: SocketAddress) -> Bool { addresses.withLock { $0.contains(peer) } }
    func insert(_ peer: SocketAddress) { _ = addresses.withLock { $0.insert(peer) } }
    func remove(_ peer: SocketAddress) { _ = addresses.withLock { $0.remove(peer) } }
}
