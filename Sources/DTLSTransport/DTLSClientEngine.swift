public import CoAPCore
public import Logging
public import NIOCore

/// The client side of DTLS 1.2 towards one server, without I/O: it returns the datagrams to send, the plaintext
/// received and events; time comes in as `now`.
///
/// Plaintext sent before the handshake finished is queued and flushed when it does. When the server closes the
/// association (close_notify, e.g. after evicting it), or after ``DTLSConfiguration/autoResumptionTimeout`` of
/// silence, the next send starts an abbreviated handshake from the saved session.
///
/// Not thread-safe: use it from one isolation domain.
public final class DTLSClientEngine {
    /// Something the engine wants done or reports.
    public enum Output {
        /// A datagram to send to the server.
        case datagram(ByteBuffer)
        /// Plaintext received from the server.
        case plaintext(ByteBuffer)
        /// The handshake finished.
        case established(identity: CoAPPeerIdentity?, resumed: Bool)
        /// The handshake or the association failed.
        case failed(DTLSError)
        /// The association was closed (by the server or locally).
        case closed
    }

    /// Where the client is.
    public enum State: Equatable, Sendable {
        /// Not started.
        case idle
        /// A handshake is in progress.
        case handshaking
        /// Application data flows.
        case established
        /// Closed; a send starts a new (resumed) handshake.
        case closed
        /// The last handshake failed; a send starts a new one.
        case failed
    }

    /// The configuration in use.
    public let configuration: DTLSConfiguration
    /// The server's address.
    public let server: SocketAddress
    /// Where the engine is.
    public private(set) var state: State = .idle
    /// The server's identity once established (certificate CN, or the PSK identity used).
    public private(set) var peerIdentity: CoAPPeerIdentity?
    /// Whether the last handshake resumed a saved session.
    public private(set) var lastHandshakeResumed = false

    private let context: OpenSSLDTLSContext
    private var connection: OpenSSLDTLSConnection?
    private let sessionCache: DTLSClientSessionCache?
    private let cacheKey: String
    private var handshakeStarted: NIODeadline?
    private var lastReceived: NIODeadline?
    private var pending: [ByteBuffer] = []
    private var logger: Logger

    /// Creates a client engine for `server`; `sessionCache` enables resumption across connections.
    public init(
        configuration: DTLSConfiguration,
        server: SocketAddress,
        sessionCache: DTLSClientSessionCache? = nil,
        logger: Logger = Logger(label: "swift-lwm2m.dtls.client")
    ) throws(DTLSError) {
        self.configuration = configuration
        self.server = server
        self.sessionCache = sessionCache
        self.logger = logger
        self.context = try OpenSSLDTLSContext.client(configuration: configuration)
        let identity = configuration.pskClientCredentials?.identity ?? "x509"
        self.cacheKey = "\(server)|\(identity)|\(configuration.expectedServerName ?? "")"
        self.logger[metadataKey: "peer"] = "\(server.hostAndPort)"
    }

    /// Starts a handshake (resuming a cached session when there is one).
    public func start(now: NIODeadline) -> [Output] {
        var output: [Output] = []
        startHandshake(now: now, into: &output)
        return output
    }

    /// Processes one datagram from the server.
    public func receive(_ datagram: ByteBuffer, now: NIODeadline) -> [Output] {
        var output: [Output] = []
        guard let connection, state == .handshaking || state == .established else { return output }
        lastReceived = now
        connection.feed(datagram)
        if state == .handshaking {
            step(connection, now: now, into: &output)
        } else {
            read(connection, into: &output)
        }
        return output
    }

    /// Sends plaintext: at once when established, else queued (starting a handshake when none runs).
    public func send(_ plaintext: ByteBuffer, now: NIODeadline) -> [Output] {
        var output: [Output] = []
        if state == .established, let timeout = configuration.autoResumptionTimeout, let last = lastReceived,
            now - last >= timeout
        {
            logger.debug("no datagram from the server for a while; resuming the session before sending")
            connection?.shutdown()
            drain(into: &output)
            saveSession()
            state = .closed
        }
        switch state {
        case .established:
            if let connection, connection.write(plaintext) {
                drain(into: &output)
            } else {
                output.append(.failed(DTLSError(code: .closed, reason: "write refused", peer: server)))
            }
        case .handshaking:
            pending.append(plaintext)
        case .idle, .closed, .failed:
            pending.append(plaintext)
            startHandshake(now: now, into: &output)
        }
        return output
    }

    /// Runs the retransmission timer and the handshake timeout.
    public func handleTimers(now: NIODeadline) -> [Output] {
        var output: [Output] = []
        guard state == .handshaking, let connection, let started = handshakeStarted else { return output }
        if now - started >= configuration.handshakeTimeout {
            failHandshake(timeoutError(connection), into: &output)
            return output
        }
        if let delay = connection.retransmissionDelay, delay <= .zero {
            let ok = connection.handleRetransmissionTimeout()
            drain(into: &output)
            if !ok { failHandshake(timeoutError(connection), into: &output) }
        }
        return output
    }

    /// When ``handleTimers(now:)`` should run next.
    public func nextDeadline(now: NIODeadline) -> NIODeadline? {
        guard state == .handshaking, let connection, let started = handshakeStarted else { return nil }
        let timeout = started + configuration.handshakeTimeout
        guard let delay = connection.retransmissionDelay else { return timeout }
        return min(timeout, now + max(delay, .zero))
    }

    /// Sends close_notify and closes; the session stays in the cache.
    public func close() -> [Output] {
        var output: [Output] = []
        if state == .established, let connection {
            connection.shutdown()
            drain(into: &output)
            saveSession()
        }
        if state != .closed { output.append(.closed) }
        state = .closed
        connection = nil
        pending.removeAll()
        return output
    }

    // MARK: Steps

    private func startHandshake(now: NIODeadline, into output: inout [Output]) {
        do {
            let connection = try OpenSSLDTLSConnection(context: context, mtu: configuration.datagramSize(for: server))
            if let session = sessionCache?.session(for: cacheKey) { connection.resume(session) }
            self.connection = connection
            state = .handshaking
            handshakeStarted = now
            step(connection, now: now, into: &output)
        } catch {
            state = .failed
            output.append(.failed(error))
        }
    }

    private func step(_ connection: OpenSSLDTLSConnection, now: NIODeadline, into output: inout [Output]) {
        let step = connection.handshake()
        drain(into: &output)
        switch step {
        case .wantRead:
            break
        case .complete:
            state = .established
            lastReceived = now
            peerIdentity = connection.peerIdentity
            lastHandshakeResumed = connection.isResumed
            saveSession()
            logger.debug("DTLS handshake complete", metadata: [
                "resumed": "\(lastHandshakeResumed)", "cipher": "\(connection.cipherSuiteName ?? "?")",
            ])
            output.append(.established(identity: peerIdentity, resumed: lastHandshakeResumed))
            let queued = pending
            pending.removeAll()
            for plaintext in queued where connection.write(plaintext) {}
            drain(into: &output)
            read(connection, into: &output)
        case .closed:
            state = .closed
            output.append(.closed)
        case .failed(let code, let reason):
            failHandshake(DTLSError(code: code, reason: reason, peer: server), into: &output)
        }
    }

    private func read(_ connection: OpenSSLDTLSConnection, into output: inout [Output]) {
        let step = connection.readPlaintext { output.append(.plaintext($0)) }
        drain(into: &output)
        switch step {
        case .wantRead, .complete:
            break
        case .closed:
            logger.debug("server closed the DTLS association")
            connection.shutdown()
            drain(into: &output)
            saveSession()
            state = .closed
            self.connection = nil
            output.append(.closed)
        case .failed(let code, let reason):
            state = .failed
            self.connection = nil
            output.append(.failed(DTLSError(code: code, reason: reason, peer: server)))
        }
    }

    private func failHandshake(_ error: DTLSError, into output: inout [Output]) {
        logger.notice("DTLS handshake failed", metadata: ["code": "\(error.code)", "reason": "\(error.reason)"])
        if connection?.isResumed == true || sessionCache?.session(for: cacheKey) != nil {
            sessionCache?.store(nil, for: cacheKey)  // do not try that session again
        }
        state = .failed
        connection = nil
        pending.removeAll()
        output.append(.failed(error))
    }

    private func timeoutError(_ connection: OpenSSLDTLSConnection) -> DTLSError {
        let reason = connection.usesPSK
            ? "handshake timed out (possibly wrong credentials for PSK identity \"\(configuration.pskClientCredentials?.identity ?? "")\")"
            : "handshake timed out (no answer from the server)"
        return DTLSError(code: .handshakeTimedOut, reason: reason, peer: server)
    }

    private func saveSession() {
        guard let sessionCache, let session = connection?.savedSession() else { return }
        sessionCache.store(session, for: cacheKey)
    }

    private func drain(into output: inout [Output]) {
        guard let connection else { return }
        connection.drainOutbound { output.append(.datagram($0)) }
    }
}
