public import CoAPCore
import Codecs
public import LwM2MModel
public import Logging
public import NIOCore

/// The LwM2M bootstrap server: answers client-initiated Bootstrap-Requests (`POST /bs?ep=..[&pct=..]`) on a
/// `CoAPEndpoint` and runs one `LwM2MBootstrapSession` per endpoint with the configuration from its store.
///
/// With a security store, an endpoint may only request bootstrap with its own credentials: the DTLS identity
/// (PSK identity or certificate CN) of the request must be the one stored for `ep`, and a request over plain CoAP
/// is accepted only where the store allows NoSec; otherwise the answer is 4.03 Forbidden.
public actor LwM2MBootstrapServer {
    /// Settings of the server.
    public struct Configuration: Sendable {
        /// How long to wait for each of the client's responses (nil: the CoAP exchange's own limit,
        /// EXCHANGE_LIFETIME for a CON request).
        public var stepTimeout: TimeAmount?
        /// Creates settings.
        public init(stepTimeout: TimeAmount? = .seconds(30)) {
            self.stepTimeout = stepTimeout
        }
    }

    /// The CoAP endpoint the server runs on.
    public nonisolated let endpoint: CoAPEndpoint
    /// Where configurations come from.
    public nonisolated let store: any LwM2MBootstrapConfigurationStore
    /// The settings.
    public nonisolated let configuration: Configuration
    /// The endpoints' credentials (`nil`: every Bootstrap-Request is accepted).
    public nonisolated let security: (any LwM2MSecurityStore)?
    /// Session events: started, each step, finished, failed. Single consumer; buffered.
    public nonisolated let events: AsyncStream<LwM2MBootstrapEvent>
    private nonisolated let eventSink: AsyncStream<LwM2MBootstrapEvent>.Continuation
    private let logger: Logger
    private var sessions: [String: (id: UInt64, task: Task<Void, Never>)] = [:]
    private var nextSessionID: UInt64 = 0

    /// Creates a server on `endpoint`; call `start()` to serve `/bs`.
    public init(
        endpoint: CoAPEndpoint, store: any LwM2MBootstrapConfigurationStore, configuration: Configuration = .init(),
        security: (any LwM2MSecurityStore)? = nil,
        logger: Logger = Logger(label: "lwm2m.bootstrap", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.endpoint = endpoint
        self.store = store
        self.security = security
        self.configuration = configuration
        self.logger = logger
        (events, eventSink) = AsyncStream<LwM2MBootstrapEvent>.makeStream(bufferingPolicy: .bufferingNewest(4096))
    }

    /// Registers the Bootstrap-Request resource `/bs` on the endpoint.
    public func start() async {
        await endpoint.register("/bs") { [weak self] request in
            guard let self else { throw CoAPError(.serviceUnavailable) }
            return try await self.handleBootstrapRequest(request)
        }
    }

    /// The endpoints with a session in progress.
    public var activeEndpoints: [String] { Array(sessions.keys).sorted() }

    /// Cancels every session and finishes the event stream (the endpoint is not closed).
    public func stop() async {
        await endpoint.unregister(path: ["bs"])
        for (_, session) in sessions { session.task.cancel() }
        sessions.removeAll()
        eventSink.finish()
    }

    /// Handles `POST /bs?ep=..[&pct=..]`: 2.04 and a session, 4.03 when the request lacks the endpoint's
    /// credentials, or 4.00 when there is no configuration.
    func handleBootstrapRequest(_ request: CoAPIncomingRequest) async throws -> CoAPMessage {
        guard request.method == .post else { throw CoAPError.methodNotAllowed() }
        var name: String?
        var pct: LwM2MContentFormat?
        for item in request.message.uriQuery {
            if item.hasPrefix("ep=") {
                name = String(item.dropFirst(3))
            } else if item.hasPrefix("pct=") {
                guard let number = UInt16(item.dropFirst(4)), let format = LwM2MContentFormat(number: number),
                    [.tlv, .senmlCBOR, .senmlJSON].contains(format)
                else {
                    reject("", .init(code: .invalidRequest, reason: "unsupported pct \(item.dropFirst(4))", step: nil))
                    throw CoAPError.badRequest("unsupported preferred content format")
                }
                pct = format
            }
        }
        guard let name, !name.isEmpty else {
            reject("", .init(code: .invalidRequest, reason: "Bootstrap-Request without ep from \(request.peer.hostAndPort)", step: nil))
            throw CoAPError.badRequest("missing ep")
        }
        if let security {
            let credential: LwM2MSecurityCredential? =
                switch request.peerIdentity {
                case .psk(let identity)?: .psk(identity: identity)
                case .certificate(let commonName)?: .certificate(commonName: commonName)
                case nil: nil
                }
            if case .denied(let reason) = security.authorize(endpoint: name, credential: credential) {
                logger.warning(
                    "bootstrap request refused",
                    metadata: [
                        "endpoint": "\(name)", "peer": "\(request.peer.hostAndPort)", "identity": "\(credential?.description ?? "none")",
                        "reason": "\(reason)",
                    ])
                eventSink.yield(.failed(endpoint: name, error: .init(code: .forbidden, reason: reason, step: nil)))
                throw CoAPError(.forbidden)
            }
        }
        let found: LwM2MBootstrapConfiguration?
        do {
            found = try await store.configuration(for: name)
        } catch {
            reject(name, .init(code: .noConfiguration, reason: "the store failed: \(error)", step: nil))
            throw CoAPError.internalServerError()
        }
        guard let config = found else {
            reject(name, .init(code: .noConfiguration, reason: "no bootstrap configuration for \(name)", step: nil))
            throw CoAPError.badRequest("no bootstrap configuration")
        }
        startSession(name, peer: request.peer, plan: config.plan, pct: pct)
        return .response(.changed)
    }

    private func reject(_ name: String, _ error: LwM2MBootstrapError) {
        logger.warning("bootstrap request refused", metadata: ["endpoint": "\(name)", "error": "\(error)"])
        eventSink.yield(.failed(endpoint: name, error: error))
    }

    private func startSession(_ name: String, peer: SocketAddress, plan: LwM2MBootstrapPlan, pct: LwM2MContentFormat?) {
        if let old = sessions.removeValue(forKey: name) {
            old.task.cancel()
            let error = LwM2MBootstrapError(code: .superseded, reason: "a new Bootstrap-Request arrived", step: nil)
            logger.info("bootstrap session replaced", metadata: ["endpoint": "\(name)"])
            eventSink.yield(.failed(endpoint: name, error: error))
        }
        nextSessionID += 1
        let id = nextSessionID
        let session = LwM2MBootstrapSession(endpoint: name, plan: plan, clientPreferredFormat: pct)
        logger.info("bootstrap session started", metadata: [
            "endpoint": "\(name)", "peer": "\(peer.hostAndPort)", "format": "\(session.writeFormat)"])
        eventSink.yield(.started(endpoint: name, peer: peer))
        let task = Task { [endpoint, configuration, eventSink, logger] in
            // Let the 2.04 to the Bootstrap-Request go out before the first request of the session.
            await Task.yield()
            let outcome = await Self.run(
                session, peer: peer, endpoint: endpoint, timeout: configuration.stepTimeout, events: eventSink,
                logger: logger)
            self.sessionEnded(name, id: id, outcome: outcome)
        }
        sessions[name] = (id, task)
    }

    private func sessionEnded(_ name: String, id: UInt64, outcome: LwM2MBootstrapSession.Action?) {
        guard sessions[name]?.id == id else { return }  // superseded: its failure was already reported
        sessions.removeValue(forKey: name)
        switch outcome {
        case .finished(let result):
            logger.info("bootstrap session finished", metadata: ["endpoint": "\(name)", "steps": "\(result.steps.count)"])
            eventSink.yield(.finished(result))
        case .failed(let error):
            logger.warning("bootstrap session failed", metadata: ["endpoint": "\(name)", "error": "\(error)"])
            eventSink.yield(.failed(endpoint: name, error: error))
        case .send, nil:
            break
        }
    }

    /// Drives `session` over `endpoint` until it finishes or fails (nil when cancelled by a newer session).
    static func run(
        _ session: LwM2MBootstrapSession, peer: SocketAddress, endpoint: CoAPEndpoint, timeout: TimeAmount?,
        events: AsyncStream<LwM2MBootstrapEvent>.Continuation, logger: Logger
    ) async -> LwM2MBootstrapSession.Action? {
        var session = session
        var action = session.start()
        while case .send(let request) = action {
            logger.debug("bootstrap step", metadata: ["endpoint": "\(session.endpoint)", "step": "\(request.step)"])
            do {
                let response = try await endpoint.request(request.message, to: peer, timeout: timeout)
                if Task.isCancelled { return nil }
                if response.code.isSuccess {
                    events.yield(.step(endpoint: session.endpoint, step: request.step, responseCode: response.code))
                }
                action = session.receive(
                    code: response.code, contentFormat: response.contentFormat, payload: response.payloadBytes)
            } catch {
                if Task.isCancelled { return nil }
                action = session.transportFailed(error)
            }
        }
        return action
    }
}
