public import Logging
public import NIOCore
import Synchronization

/// A CoAP endpoint for both roles over any `CoAPTransport`: send requests and await responses, serve
/// registered resources (with `/.well-known/core` discovery), ping, and send notifications.
///
/// The protocol rules live in `CoAPMessageLayer`; the endpoint feeds it datagrams and time from its
/// transport and clock, and turns its actions into I/O and resumed callers. It starts receiving at `init`
/// and stops at `close()`.
///
/// ```swift
/// let transport = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
/// let endpoint = CoAPEndpoint(transport: transport)
/// await endpoint.register(CoAPResource(path: ["hello"]) { _ in .response(.content, text: "world") })
/// let reply = try await endpoint.request(.request(.get, path: "/hello"), to: transport.localAddress)
/// ```
public actor CoAPEndpoint {
    /// The endpoint's configuration.
    public struct Configuration: Sendable {
        /// Message layer settings (transmission parameters, token length, piggyback delay ...).
        public var messageLayer: CoAPMessageLayer.Configuration
        /// Seed for message IDs, tokens and jitter (reproducible runs); `nil` seeds from the system.
        public var seed: UInt64?
        /// Whether `/.well-known/core` is served from the registered resources.
        public var servesWellKnownCore: Bool
        /// Block-wise transfer settings (RFC 7959), both roles.
        public var blockwise: CoAPBlockwiseConfiguration
        /// Observer settings for the server role (RFC 7641); the endpoint always coalesces notifications.
        public var observe: CoAPObserverRegistry<SocketAddress, String>.Configuration
        /// Whether the endpoint keeps the observers of its resources itself (register on Observe = 0, number
        /// and send notifications through `notifyObservers(of:)`). Turn it off when the application runs its own
        /// observation rules (e.g. an LwM2M client's pmin/pmax) and answers Observe requests in its handlers.
        public var managesObservers: Bool

        /// Creates a configuration.
        public init(
            messageLayer: CoAPMessageLayer.Configuration = .init(), seed: UInt64? = nil,
            servesWellKnownCore: Bool = true, blockwise: CoAPBlockwiseConfiguration = .init(),
            observe: CoAPObserverRegistry<SocketAddress, String>.Configuration = .init(),
            managesObservers: Bool = true
        ) {
            self.messageLayer = messageLayer
            self.seed = seed
            self.servesWellKnownCore = servesWellKnownCore
            self.blockwise = blockwise
            self.observe = observe
            self.managesObservers = managesObservers
        }
    }

    enum Waiter {
        case response(CheckedContinuation<Result<CoAPMessage, CoAPExchangeError>, Never>)
        case stream(AsyncThrowingStream<CoAPMessage, any Error>.Continuation)
        case delivery(CheckedContinuation<Result<Void, CoAPExchangeError>, Never>)
        case nonConfirmable(SocketAddress, CoAPToken)
    }

    /// Tasks owned by the endpoint, kept outside the actor's state so `init` can start them.
    private final class Tasks: Sendable {
        let receive = Mutex<Task<Void, Never>?>(nil)
    }

    /// The transport under the endpoint.
    public nonisolated let transport: any CoAPTransport
    /// The clock driving retransmissions and timeouts.
    public nonisolated let clock: any CoAPClock
    /// The logger.
    public nonisolated let logger: Logger
    /// The configuration.
    public nonisolated let configuration: Configuration

    var layer: CoAPMessageLayer
    var waiters: [CoAPExchangeID: Waiter] = [:]
    var resources: [String: CoAPResource] = [:]
    /// The observers of this endpoint's resources (RFC 7641), keyed by path string.
    var observers: CoAPObserverRegistry<SocketAddress, String>
    /// Block1 reassembly and Block2 slicing for the server role (RFC 7959).
    nonisolated let blockwiseServer: CoAPBlockwiseServer
    private var middlewares: [any CoAPServerMiddleware] = []
    private var timer = CoAPDeadlineTimer()
    private var handlerTasks: [UInt64: Task<Void, Never>] = [:]
    private var nextHandlerTask: UInt64 = 0
    var isClosed = false
    private var isDraining = false
    private var resetHandler: (@Sendable (SocketAddress, CoAPToken) -> Void)?
    /// Called for every well-formed inbound message (see `onInboundMessage(_:)`); `nil` costs one branch.
    var inboundHandler: (@Sendable (SocketAddress, CoAPPeerIdentity?) -> Void)?
    private nonisolated let tasks = Tasks()
    /// Whether inbound datagrams are processed (see `setReceiving(_:)` in CoAPEndpoint+Receiving.swift).
    nonisolated let receiveSwitch = Atomic<Bool>(true)

    /// Creates an endpoint on `transport` and starts receiving.
    public init(
        transport: any CoAPTransport,
        configuration: Configuration = .init(),
        clock: any CoAPClock = CoAPSystemClock(),
        logger: Logger = Logger(label: "coap.endpoint", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.transport = transport
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.layer = CoAPMessageLayer(configuration: configuration.messageLayer, seed: configuration.seed)
        var observe = configuration.observe
        observe.coalescesInFlight = true  // one notification in flight per observer (RFC 7641 4.5.2)
        self.observers = CoAPObserverRegistry(configuration: observe)
        self.managesObservers = configuration.managesObservers
        self.blockwiseServer = CoAPBlockwiseServer(configuration: configuration.blockwise)
        let task = Task { [self] in await self.receiveLoop() }
        tasks.receive.withLock { $0 = task }
    }

    /// The transport's local address.
    public nonisolated var localAddress: SocketAddress { transport.localAddress }

    // MARK: - Client role

    /// Sends one request message and returns its response, without block-wise handling (the building block
    /// of `request(_:to:timeout:)`).
    func singleRequest(
        _ message: CoAPMessage, to peer: SocketAddress, timeout: TimeAmount? = nil
    ) async throws(CoAPExchangeError) -> CoAPMessage {
        guard !isClosed else { throw .closed("the endpoint is closed") }
        let id = layer.makeExchangeID()
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<CoAPMessage, CoAPExchangeError>, Never>) in
                waiters[id] = .response(continuation)
                let (_, actions) = layer.startRequest(message, to: peer, responseTimeout: timeout, id: id, now: clock.now)
                perform(actions, peerIdentity: nil)
                rescheduleTimer()
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
        return try result.get()
    }

    /// Sends `message` to `peer` and yields every response with its token until the consumer stops
    /// iterating (the building block for Observe, RFC 7641: the first element is the registration's
    /// response, later ones are notifications). Ending the iteration forgets the token, so later
    /// notifications are rejected with RST.
    public func responses(for message: CoAPMessage, to peer: SocketAddress) -> AsyncThrowingStream<CoAPMessage, any Error> {
        let (stream, continuation) = AsyncThrowingStream<CoAPMessage, any Error>.makeStream()
        guard !isClosed else {
            continuation.finish(throwing: CoAPExchangeError.closed("the endpoint is closed"))
            return stream
        }
        let id = layer.makeExchangeID()
        waiters[id] = .stream(continuation)
        continuation.onTermination = { _ in Task { await self.cancel(id) } }
        let (_, actions) = layer.startRequest(message, to: peer, keepsTokenOpen: true, id: id, now: clock.now)
        perform(actions, peerIdentity: nil)
        rescheduleTimer()
        return stream
    }

    /// Pings `peer` with an empty CON (RFC 7252 4.3) and returns when it answers with RST.
    public func ping(_ peer: SocketAddress) async throws(CoAPExchangeError) {
        guard !isClosed else { throw .closed("the endpoint is closed") }
        let id = layer.makeExchangeID()
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, CoAPExchangeError>, Never>) in
                waiters[id] = .delivery(continuation)
                let (_, actions) = layer.ping(peer, id: id, now: clock.now)
                perform(actions, peerIdentity: nil)
                rescheduleTimer()
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
        try result.get()
    }

    /// Sends a response-coded message outside a request exchange (e.g. an Observe notification) with the
    /// caller's token. For CON it returns when the peer acknowledges and throws `.reset` or
    /// `.transmissionTimeout` otherwise (both mean: drop the observer, RFC 7641 4.5); NON returns at once.
    public func send(_ message: CoAPMessage, to peer: SocketAddress) async throws(CoAPExchangeError) {
        guard !isClosed else { throw .closed("the endpoint is closed") }
        let id = layer.makeExchangeID()
        if message.type == .nonConfirmable {
            waiters[id] = .nonConfirmable(peer, message.token)
            let (_, actions) = layer.send(message, to: peer, id: id, now: clock.now)
            perform(actions, peerIdentity: nil)
            rescheduleTimer()
            return
        }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, CoAPExchangeError>, Never>) in
                waiters[id] = .delivery(continuation)
                let (_, actions) = layer.send(message, to: peer, id: id, now: clock.now)
                perform(actions, peerIdentity: nil)
                rescheduleTimer()
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
        try result.get()
    }

    /// Whether the endpoint keeps the observers of its resources (see `Configuration.managesObservers`).
    public private(set) var managesObservers: Bool

    /// Hands Observe handling to the application (`false`) or back to the endpoint (`true`); it applies to
    /// requests that arrive afterwards.
    public func setManagesObservers(_ manages: Bool) {
        managesObservers = manages
    }

    /// Sets the function called when a peer rejects a Non-confirmable message sent with `send(_:to:)`
    /// with RST (within ACK_TIMEOUT), e.g. to drop an observer after a rejected NON notification.
    public func onNonConfirmableReset(_ handler: @escaping @Sendable (_ peer: SocketAddress, _ token: CoAPToken) -> Void) {
        resetHandler = handler
    }

    func cancel(_ id: CoAPExchangeID) {
        guard let waiter = waiters.removeValue(forKey: id) else { return }
        let actions = layer.cancel(id, now: clock.now)
        perform(actions, peerIdentity: nil)
        rescheduleTimer()
        let error = CoAPExchangeError.cancelled("the caller cancelled exchange \(id)")
        switch waiter {
        case .response(let c): c.resume(returning: .failure(error))
        case .delivery(let c): c.resume(returning: .failure(error))
        case .stream(let c): c.finish()
        case .nonConfirmable: break
        }
    }

    // MARK: - Server role

    /// Registers (or replaces) the resource at `resource.path`.
    public func register(_ resource: CoAPResource) {
        resources[resource.path.joined(separator: "/")] = resource
    }

    /// Registers a handler for `path` (e.g. `"/3/0"`).
    public func register(
        _ path: String, matchesSubpaths: Bool = false, attributes: [CoAPLinkAttribute] = [],
        handler: @escaping CoAPResponder
    ) {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        register(CoAPResource(path: segments, matchesSubpaths: matchesSubpaths, attributes: attributes, handler: handler))
    }

    /// Removes the resource at `path` segments.
    public func unregister(path: [String]) {
        resources.removeValue(forKey: path.joined(separator: "/"))
    }

    /// Appends a middleware; it sees every request before the resource handlers (after earlier ones).
    public func addMiddleware(_ middleware: any CoAPServerMiddleware) {
        middlewares.append(middleware)
    }

    /// The `/.well-known/core` document (RFC 6690) of the discoverable resources, filtered by the query
    /// items of RFC 6690 4.1 (`href=` or an attribute, with a trailing `*` for a prefix match).
    public func linkFormat(query: [String] = []) -> String {
        Self.linkDocument(resources, query: query)
    }

    /// The responder for a request: middlewares, then the router, resolved at dispatch time.
    func makePipeline(serving: Bool = true) -> CoAPResponder {
        let resources = self.resources
        let servesWellKnownCore = configuration.servesWellKnownCore
        var responder: CoAPResponder = { request in
            let path = request.message.uriPath
            if let resource = Self.resolve(path, in: resources) {
                return try await resource.handler(request)
            }
            if servesWellKnownCore && path == [".well-known", "core"] {
                guard request.method == .get else { throw CoAPError.methodNotAllowed() }
                let body = Self.linkDocument(resources, query: request.message.uriQuery)
                return .response(.content, payload: ByteBuffer(string: body), contentFormat: .linkFormat)
            }
            throw CoAPError.notFound()
        }
        if serving && managesObservers { responder = observing(responder) }
        for middleware in middlewares.reversed() {
            let next = responder
            responder = { request in try await middleware.respond(to: request, next: next) }
        }
        return serving ? blockwiseServer.wrap(responder, clock: clock, logger: logger) : responder
    }

    private static func linkDocument(_ resources: [String: CoAPResource], query: [String]) -> String {
        var links = resources.values
            .filter(\.isDiscoverable)
            .map { ("/" + $0.path.joined(separator: "/"), $0.attributes) }
            .sorted { $0.0 < $1.0 }
        for item in query {
            guard let eq = item.firstIndex(of: "=") else { continue }
            let name = String(item[..<eq])
            var pattern = String(item[item.index(after: eq)...])
            let prefix = pattern.hasSuffix("*")
            if prefix { pattern.removeLast() }
            func matches(_ value: String) -> Bool { prefix ? value.hasPrefix(pattern) : value == pattern }
            links = links.filter { href, attributes in
                if name == "href" { return matches(href) }
                return attributes.contains { a in
                    guard a.name == name else { return false }
                    guard let value = a.value else { return pattern.isEmpty }
                    return value.split(separator: " ").contains { matches(String($0)) }
                }
            }
        }
        return links.map { href, attributes in "<\(href)>" + attributes.map { ";" + $0.linkFormat }.joined() }
            .joined(separator: ",")
    }

    private static func resolve(_ path: [String], in resources: [String: CoAPResource]) -> CoAPResource? {
        if let exact = resources[path.joined(separator: "/")] { return exact }
        var prefix = path
        while !prefix.isEmpty {
            prefix.removeLast()
            if let r = resources[prefix.joined(separator: "/")], r.matchesSubpaths { return r }
        }
        return nil
    }

    private func dispatch(_ message: CoAPMessage, _ exchange: CoAPInboundExchange, peerIdentity: CoAPPeerIdentity?) {
        if isDraining {
            var unavailable = CoAPMessage.response(.serviceUnavailable)
            unavailable.maxAge = 0
            perform(layer.respond(to: exchange, with: unavailable, now: clock.now), peerIdentity: nil)
            return
        }
        let responder = makePipeline()
        let request = CoAPIncomingRequest(message: message, exchange: exchange, peerIdentity: peerIdentity)
        let logger = self.logger
        nextHandlerTask += 1
        let key = nextHandlerTask
        handlerTasks[key] = Task {
            let response: CoAPMessage
            do {
                response = try await responder(request)
            } catch let error as CoAPError {
                // Client errors are the handler's ordinary answers; server errors deserve attention.
                logger.log(
                    level: error.responseCode.codeClass == 5 ? .info : .debug,
                    "CoAP handler answered with an error",
                    metadata: [
                        "peer": "\(exchange.peer.hostAndPort)", "mid": "\(exchange.messageID)", "path": "\(message.uriPathString)",
                        "code": "\(error.responseCode)", "reason": "\(error.reason)"])
                response = .response(
                    error.responseCode,
                    payload: error.exposesReason && !error.reason.isEmpty ? ByteBuffer(string: error.reason) : ByteBuffer())
            } catch {
                logger.info("CoAP handler failed", metadata: [
                    "peer": "\(exchange.peer.hostAndPort)", "mid": "\(exchange.messageID)", "path": "\(message.uriPathString)",
                    "error": "\(error)"])
                response = .response(.internalServerError)
            }
            self.finishHandler(key, exchange: exchange, response: response)
        }
    }

    private func finishHandler(_ key: UInt64, exchange: CoAPInboundExchange, response: CoAPMessage) {
        handlerTasks.removeValue(forKey: key)
        guard !isClosed else { return }
        var response = response
        if !response.code.isResponse {
            logger.info("CoAP handler returned a non-response code; answering 5.00", metadata: [
                "peer": "\(exchange.peer.hostAndPort)", "mid": "\(exchange.messageID)", "code": "\(response.code)"])
            response.code = .internalServerError
        }
        let actions = layer.respond(to: exchange, with: response, now: clock.now)
        perform(actions, peerIdentity: nil)
        rescheduleTimer()
    }

    // MARK: - Driving the layer

    private func receiveLoop() async {
        for await datagram in transport.inbound {
            if isClosed { break }
            if !receiveSwitch.load(ordering: .acquiring) { continue }  // receiving is off: the datagram is lost
            let actions = layer.receive(datagram.data, from: datagram.remote, now: clock.now)
            if let inboundHandler { reportInbound(actions, datagram, to: inboundHandler) }
            perform(actions, peerIdentity: datagram.peerIdentity)
            rescheduleTimer()
        }
    }

    func perform(_ actions: [CoAPMessageLayerAction], peerIdentity: CoAPPeerIdentity?) {
        for action in actions {
            switch action {
            case .send(let datagram):
                transport.send(datagram)
            case .deliverRequest(let message, let exchange):
                dispatch(message, exchange, peerIdentity: peerIdentity)
            case .deliverResponse(let id, let message, let isFinal):
                switch waiters[id] {
                case .response(let c):
                    waiters.removeValue(forKey: id)
                    c.resume(returning: .success(message))
                    if !isFinal { perform(layer.cancel(id, now: clock.now), peerIdentity: nil) }
                case .stream(let c):
                    c.yield(message)
                    if isFinal {
                        waiters.removeValue(forKey: id)
                        c.finish()
                    }
                case .delivery(let c):
                    waiters.removeValue(forKey: id)
                    c.resume(returning: .success(()))
                case .nonConfirmable, nil:
                    break
                }
            case .delivered(let id):
                if case .delivery(let c) = waiters.removeValue(forKey: id) { c.resume(returning: .success(())) }
            case .failed(let id, let error):
                logger.debug("CoAP exchange failed", metadata: ["exchange": "\(id)", "error": "\(error)"])
                switch waiters.removeValue(forKey: id) {
                case .response(let c): c.resume(returning: .failure(error))
                case .delivery(let c): c.resume(returning: .failure(error))
                case .stream(let c): c.finish(throwing: error)
                case .nonConfirmable(let peer, let token):
                    if error.code == .reset { resetHandler?(peer, token) }
                case nil: break
                }
            case .discarded(let discard):
                log(discard)
            }
        }
    }

    /// Logs an inbound datagram the message layer rejected: `.debug` for what any healthy network produces
    /// (duplicates, stray ACK/RST/responses), `.info` for input that breaks the rules (format errors, bad
    /// critical options). Metadata is built only when the level is enabled.
    func log(_ discard: CoAPDiscard) {
        let level: Logger.Level = discard.reason.isRoutine ? .debug : .info
        logger.log(level: level, "CoAP datagram discarded", metadata: Self.metadata(discard))
    }

    static func metadata(_ discard: CoAPDiscard) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "peer": "\(discard.peer.hostAndPort)", "reason": "\(discard.reason)", "answer": "\(discard.answer)"]
        if let mid = discard.messageID { metadata["mid"] = "\(mid)" }
        if let type = discard.messageType { metadata["type"] = "\(type)" }
        if let error = discard.decodingError {
            metadata["error"] = "\(error.code)"
            metadata["offset"] = "\(error.offset)"
            metadata["detail"] = "\(error.reason)"
        }
        if let option = discard.option {
            metadata["option"] = "\(option.rawValue)"
        } else if let option = discard.decodingError?.optionNumber {
            metadata["option"] = "\(option)"
        }
        if let exchange = discard.exchange { metadata["exchange"] = "\(exchange)" }
        return metadata
    }

    func rescheduleTimer() {
        let deadlines = [layer.nextDeadline, blockwiseServer.nextExpiry]
        guard !isClosed, let next = deadlines.compactMap({ $0 }).min() else { return }
        timer.schedule(noLaterThan: next, on: clock) { [weak self] deadline in
            await self?.fireTimers(scheduledFor: deadline)
        }
    }

    private func fireTimers(scheduledFor deadline: NIODeadline) {
        guard timer.claim(deadline) else { return }
        let actions = layer.advance(to: clock.now)
        blockwiseServer.expire(now: clock.now)
        perform(actions, peerIdentity: nil)
        rescheduleTimer()
    }

    // MARK: - Shutdown

    /// Closes the endpoint: pending requests fail with `.closed`, running handlers are cancelled, the
    /// transport closes. Idempotent.
    ///
    /// With `gracefully`, requests that arrive from now on are answered 5.03 Service Unavailable and the
    /// handlers already running finish and send their responses before the endpoint closes.
    public func close(gracefully: Bool = false) async {
        guard !isClosed else { return }
        if gracefully && !isDraining {
            isDraining = true
            while let (_, task) = handlerTasks.first {
                await task.value
            }
        }
        guard !isClosed else { return }
        isClosed = true
        timer.cancel()
        let error = CoAPExchangeError.closed("the endpoint closed")
        for (_, waiter) in waiters {
            switch waiter {
            case .response(let c): c.resume(returning: .failure(error))
            case .delivery(let c): c.resume(returning: .failure(error))
            case .stream(let c): c.finish(throwing: error)
            case .nonConfirmable: break
            }
        }
        waiters.removeAll()
        for (_, task) in handlerTasks { task.cancel() }
        handlerTasks.removeAll()
        await transport.close()
        let receive = tasks.receive.withLock { $0 }
        receive?.cancel()
        await receive?.value
    }
}
