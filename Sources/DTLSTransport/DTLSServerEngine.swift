public import CoAPCore
public import Logging
public import NIOCore

/// The server side of DTLS 1.2 for many peers on one socket, without I/O: feed it datagrams, plaintext to send
/// and the time; it returns datagrams to send, plaintext received and events.
///
/// - A new peer first goes through a stateless cookie exchange (HelloVerifyRequest, HMAC-SHA256 of its address
///   under a rotating secret): nothing is allocated for a peer until it proves it receives at its address.
///   A ClientHello that resumes a session in this server's cache is answered at once (RFC 6347 section 4.2.1 lets a
///   server skip the exchange on resumption), saving a round trip, while fewer than
///   ``DTLSConfiguration/maximumResumptionsWithoutCookie`` such handshakes are in progress.
/// - Associations are keyed by peer address. At most ``DTLSConfiguration/maximumConcurrentHandshakes`` handshakes
///   run at once; at most ``DTLSConfiguration/maximumLiveSessions`` OpenSSL connections are live.
/// - An association idle for ``DTLSConfiguration/idleTimeout`` (or the least recently used one when the live
///   limit is reached) is closed with close_notify; its session stays in a bounded cache so the peer's next
///   handshake is an abbreviated one.
/// - Handshake retransmission follows OpenSSL's timer; a handshake that outlives
///   ``DTLSConfiguration/handshakeTimeout`` fails (with PSK: "possibly wrong credentials").
///
/// Not thread-safe: use it from one isolation domain (the transport confines it to its event loop).
public final class DTLSServerEngine {
    /// Something the engine wants done or reports.
    public enum Output {
        /// A datagram to send to a peer.
        case datagram(ByteBuffer, to: SocketAddress)
        /// Plaintext received from an authenticated peer.
        case plaintext(ByteBuffer, from: SocketAddress, identity: CoAPPeerIdentity?)
        /// A handshake finished.
        case established(SocketAddress, identity: CoAPPeerIdentity?, resumed: Bool)
        /// A handshake or association failed; the peer's state is gone.
        case failed(SocketAddress, DTLSError)
        /// An association ended (close_notify received, evicted, or shut down).
        case closed(SocketAddress)
    }

    /// Counters for monitoring and tests.
    public struct Statistics: Sendable {
        /// HelloVerifyRequests sent (each one cost no per-peer state).
        public var helloVerifyRequestsSent = 0
        /// Full handshakes completed.
        public var fullHandshakes = 0
        /// Abbreviated (resumed) handshakes completed.
        public var resumedHandshakes = 0
        /// Abbreviated handshakes started without a cookie exchange (included in ``resumedHandshakes`` once they
        /// complete).
        public var resumptionsWithoutCookie = 0
        /// Handshakes that failed or timed out.
        public var failedHandshakes = 0
        /// Associations closed into a saved session because they were idle or the live limit was reached.
        public var evictions = 0
        /// Datagrams dropped (not a ClientHello from an unknown peer, limits reached, undecryptable).
        public var droppedDatagrams = 0
    }

    private final class Peer {
        let address: SocketAddress
        let connection: OpenSSLDTLSConnection
        let started: NIODeadline
        var lastActivity: NIODeadline
        var established = false
        /// False while a handshake that skipped the cookie exchange has not finished (the peer has not yet shown
        /// that it receives at its address).
        var addressVerified = true
        /// Whether the one retransmission such a handshake gets was sent.
        var retransmittedUnverified = false
        var identity: CoAPPeerIdentity?
        /// The random of the ClientHello that started this association (to recognise late duplicates of it).
        var helloRandom: [UInt8]?

        init(address: SocketAddress, connection: OpenSSLDTLSConnection, now: NIODeadline) {
            self.address = address
            self.connection = connection
            self.started = now
            self.lastActivity = now
        }
    }

    /// The configuration in use.
    public let configuration: DTLSConfiguration
    private let context: OpenSSLDTLSContext
    private var listener: OpenSSLDTLSConnection
    /// Connections of associations that ended cleanly, kept for the next listener (at most
    /// ``spareConnectionLimit``): reusing one saves OpenSSL's `SSL_new` and `SSL_free` per handshake.
    private var spareConnections: [OpenSSLDTLSConnection] = []
    /// Ended connections waiting for reuse (for tests).
    var spareConnectionCount: Int { spareConnections.count }
    /// How many ended connections are kept for reuse (each holds OpenSSL's read and write buffers, about 25 KB).
    static let spareConnectionLimit = 8
    private var peers: [SocketAddress: Peer] = [:]
    private var handshaking: Set<SocketAddress> = []
    /// Handshakes in progress that skipped the cookie exchange.
    private var unverifiedHandshakes = 0
    /// Resumptions without a cookie exchange that OpenSSL would have turned into a full handshake (for tests).
    private(set) var refusedFullHandshakes = 0
    private var nextIdleScan: NIODeadline?
    private var logger: Logger
    /// Counters since creation.
    public private(set) var statistics = Statistics()
    /// Where OpenSSL decrypts each record before it is copied into a buffer of its own size: one per engine (the
    /// engine runs on one thread at a time), instead of a 16 KB temporary allocation per read.
    private let plaintextScratch = UnsafeMutableRawBufferPointer.allocate(
        byteCount: dtlsPlaintextScratchSize, alignment: 8)
    /// Buffers of datagrams the driver has sent, for the datagrams OpenSSL writes next (see
    /// ``recycleDatagramBuffer(_:)``).
    private let datagramBuffers = DatagramBufferPool()
    /// Sent datagram buffers waiting for reuse (for tests).
    var recycledDatagramBufferCount: Int { datagramBuffers.count }

    /// Creates a server engine; throws when OpenSSL rejects the credentials.
    public init(configuration: DTLSConfiguration, logger: Logger = Logger(label: "swift-lwm2m.dtls.server"))
        throws(DTLSError)
    {
        self.configuration = configuration
        self.logger = logger
        self.context = try OpenSSLDTLSContext(configuration: configuration, isServer: true)
        self.listener = try OpenSSLDTLSConnection(context: context, mtu: 1232)
        listener.bio.bufferPool = datagramBuffers
    }

    /// Takes back the buffer of a datagram from ``Output/datagram(_:to:)`` once it has been sent, so a later datagram
    /// can be written into it instead of a new allocation. The caller must not change the buffer afterwards (it may
    /// keep reading it: `ByteBuffer` copies on write, so a buffer still referenced elsewhere is never overwritten).
    func recycleDatagramBuffer(_ buffer: ByteBuffer) {
        datagramBuffers.give(buffer)
    }

    deinit {
        plaintextScratch.deallocate()
    }

    /// Handshakes in progress.
    public var handshakesInProgress: Int { handshaking.count }
    /// Handshakes in progress that skipped the cookie exchange (for tests).
    var handshakesWithoutCookieInProgress: Int { unverifiedHandshakes }

    /// Test hook: makes the session index offer `id` although OpenSSL's cache does not hold it.
    func recordResumableSessionForTesting(_ id: DTLSSessionID) {
        context.recordResumableForTesting(id)
    }
    /// Live OpenSSL connections (handshaking or established).
    public var liveConnections: Int { peers.count }
    /// Whether `peer` has an established association.
    public func isEstablished(_ peer: SocketAddress) -> Bool { peers[peer]?.established ?? false }
    /// The authenticated identity of `peer`, if it has an established association.
    public func identity(of peer: SocketAddress) -> CoAPPeerIdentity? { peers[peer]?.identity }
    /// The cipher suite negotiated with `peer` (OpenSSL's name).
    public func cipherSuite(of peer: SocketAddress) -> String? { peers[peer]?.connection.cipherSuiteName }

    // MARK: Input

    /// Processes one datagram from `peer`.
    public func receive(_ datagram: ByteBuffer, from peer: SocketAddress, now: NIODeadline) -> [Output] {
        var output: [Output] = []
        receive(datagram, from: peer, now: now, into: &output)
        return output
    }

    /// Processes one datagram from `peer`, appending what it produces to `output` (a driver can reuse one array
    /// for every datagram instead of allocating one per call).
    public func receive(
        _ datagram: ByteBuffer, from peer: SocketAddress, now: NIODeadline, into output: inout [Output]
    ) {
        context.rotateCookieSecretIfNeeded(now: now)
        if let existing = peers[peer] {
            if existing.established && DTLSRecord.isInitialClientHello(datagram) {
                if DTLSRecord.clientHelloRandom(datagram) == existing.helloRandom {
                    statistics.droppedDatagrams += 1  // a late duplicate of the ClientHello that started it
                    return
                }
                // The peer lost its state (reboot) and starts over: RFC 6347 section 4.2.8. The old association
                // goes once the new ClientHello passed the cookie check.
                acceptNewPeer(datagram, from: peer, replacing: existing, now: now, into: &output)
                return
            }
            existing.lastActivity = now
            existing.connection.feed(datagram)
            if existing.established {
                readPlaintext(existing, into: &output)
            } else {
                continueHandshake(existing, now: now, into: &output)
            }
            return
        }
        acceptNewPeer(datagram, from: peer, replacing: nil, now: now, into: &output)
    }

    /// Encrypts `plaintext` for `peer`; fails with ``DTLSError/Code/closed`` when there is no association.
    public func send(_ plaintext: ByteBuffer, to peer: SocketAddress, now: NIODeadline) -> Result<[Output], DTLSError> {
        guard let existing = peers[peer], existing.established else {
            return .failure(DTLSError(code: .closed, reason: "no DTLS association with the peer", peer: peer))
        }
        existing.lastActivity = now
        guard plaintext.readableBytes <= configuration.maximumPlaintextSize, existing.connection.write(plaintext) else {
            return .failure(DTLSError(
                code: .closed, reason: "write refused (\(plaintext.readableBytes) bytes; the limit is "
                    + "\(configuration.maximumPlaintextSize))", peer: peer))
        }
        var produced: [Output] = []
        existing.connection.drainOutbound { produced.append(.datagram($0, to: peer)) }
        return .success(produced)
    }

    /// Runs retransmissions, handshake timeouts and idle eviction due at `now`.
    public func handleTimers(now: NIODeadline) -> [Output] {
        var output: [Output] = []
        for address in handshaking {
            guard let peer = peers[address] else { continue }
            if now - peer.started >= configuration.handshakeTimeout {
                fail(peer, timeoutError(peer), into: &output)
                continue
            }
            if let delay = peer.connection.retransmissionDelay, delay <= .zero {
                if !peer.addressVerified {
                    // A peer that has not shown it receives at its address gets its flight twice at most, so a
                    // forged ClientHello makes the server send no more than twice its flight.
                    if peer.retransmittedUnverified {
                        fail(peer, DTLSError(
                            code: .handshakeTimedOut,
                            reason: "resumption without a cookie exchange not completed after one retransmission",
                            peer: peer.address), into: &output)
                        continue
                    }
                    peer.retransmittedUnverified = true
                }
                if !peer.connection.handleRetransmissionTimeout() {
                    emitOutbound(peer, into: &output)
                    fail(peer, timeoutError(peer), into: &output)
                    continue
                }
                emitOutbound(peer, into: &output)
            }
        }
        if let scan = nextIdleScan, now >= scan {
            nextIdleScan = nil
            for peer in peers.values where peer.established && now - peer.lastActivity >= configuration.idleTimeout {
                evict(peer, reason: "idle", into: &output)
            }
            if peers.values.contains(where: \.established) { scheduleIdleScan(now: now) }
        }
        return output
    }

    /// When ``handleTimers(now:)`` should run next (`nil`: nothing pending).
    public func nextDeadline(now: NIODeadline) -> NIODeadline? {
        var deadline: NIODeadline? = nil
        func consider(_ candidate: NIODeadline) {
            if deadline.map({ candidate < $0 }) ?? true { deadline = candidate }
        }
        for address in handshaking {
            guard let peer = peers[address] else { continue }
            consider(peer.started + configuration.handshakeTimeout)
            if let delay = peer.connection.retransmissionDelay { consider(now + max(delay, .zero)) }
        }
        if let scan = nextIdleScan { consider(scan) }
        return deadline
    }

    /// Closes every association with close_notify (their sessions stay resumable).
    public func shutdown() -> [Output] {
        var output: [Output] = []
        for peer in Array(peers.values) {
            if peer.established {
                peer.connection.shutdown()
                emitOutbound(peer, into: &output)
            }
            remove(peer)
            output.append(.closed(peer.address))
        }
        return output
    }

    /// Closes the association with `peer` (close_notify), keeping its session resumable.
    public func close(_ peer: SocketAddress) -> [Output] {
        var output: [Output] = []
        if let existing = peers[peer] { evict(existing, reason: "closed locally", into: &output) }
        return output
    }

    // MARK: Steps

    private func acceptNewPeer(
        _ datagram: ByteBuffer, from address: SocketAddress, replacing old: Peer?, now: NIODeadline,
        into output: inout [Output]
    ) {
        guard DTLSRecord.isInitialClientHello(datagram) else {
            statistics.droppedDatagrams += 1
            logger.debug("dropped a record from a peer without an association (evicted or lost?)",
                         metadata: ["peer": "\(address.hostAndPort)"])
            return
        }
        guard handshaking.count < configuration.maximumConcurrentHandshakes else {
            statistics.droppedDatagrams += 1
            logger.notice("too many handshakes in progress; ignoring a ClientHello", metadata: ["peer": "\(address.hostAndPort)"])
            return
        }
        listener.bio.peerKey = address.dtlsPeerKey
        listener.bio.mtu = configuration.datagramSize(for: address)
        if old == nil, unverifiedHandshakes < configuration.maximumResumptionsWithoutCookie,
            peers.count < configuration.maximumLiveSessions,  // an unverified peer never evicts an association
            let session = DTLSRecord.offeredSessionWithoutCookie(datagram), context.canResume(session),
            acceptResumptionWithoutCookie(datagram, from: address, now: now, into: &output)
        {
            return
        }
        listener.feed(datagram)
        let result = listener.listen()
        listener.drainOutbound { output.append(.datagram($0, to: address)) }
        switch result {
        case .dropped:
            statistics.droppedDatagrams += 1
        case .helloVerifySent:
            statistics.helloVerifyRequestsSent += 1
        case .accepted:
            if let old { remove(old) }
            guard makeRoomForPeer(address, into: &output) else { return }
            let peer = Peer(address: address, connection: takeListener(), now: now)
            peer.helloRandom = DTLSRecord.clientHelloRandom(datagram)
            peers[address] = peer
            handshaking.insert(address)
            continueHandshake(peer, now: now, into: &output)
        }
    }

    /// Answers a ClientHello that offers a session from the cache with the abbreviated handshake's first flight,
    /// without a cookie exchange. Returns false, having sent nothing, when OpenSSL did not resume the session (it
    /// expired or was dropped since): then the ClientHello goes through the cookie exchange, as a full handshake
    /// must.
    private func acceptResumptionWithoutCookie(
        _ datagram: ByteBuffer, from address: SocketAddress, now: NIODeadline, into output: inout [Output]
    ) -> Bool {
        let connection = takeListener()
        connection.allowsFullHandshake = false
        connection.feed(datagram)
        let step = connection.handshake()
        guard connection.isResumed, step == .wantRead else {
            if connection.refusedFullHandshake { refusedFullHandshakes += 1 }
            // A full handshake's flight never goes out before a cookie exchange. The connection is dropped like
            // that of any handshake that did not finish; the new listener takes the ClientHello.
            connection.drainOutbound { _ in }
            listener.bio.peerKey = address.dtlsPeerKey
            listener.bio.mtu = configuration.datagramSize(for: address)
            return false
        }
        // No eviction: the caller checked that the live-session bound leaves room.
        let peer = Peer(address: address, connection: connection, now: now)
        peer.helloRandom = DTLSRecord.clientHelloRandom(datagram)
        peer.addressVerified = false
        unverifiedHandshakes += 1
        statistics.resumptionsWithoutCookie += 1
        peers[address] = peer
        handshaking.insert(address)
        finishStep(step, of: peer, now: now, into: &output)
        return true
    }

    /// Below the live-session bound, or evicts the least recently used established association to get there;
    /// false (and the ClientHello counted as dropped) when every live association is still handshaking.
    private func makeRoomForPeer(_ address: SocketAddress, into output: inout [Output]) -> Bool {
        guard peers.count >= configuration.maximumLiveSessions else { return true }
        guard let victim = peers.values.filter(\.established).min(by: { $0.lastActivity < $1.lastActivity }) else {
            statistics.droppedDatagrams += 1
            logger.notice("live session limit reached; ignoring a ClientHello", metadata: ["peer": "\(address.hostAndPort)"])
            return false
        }
        evict(victim, reason: "live session limit", into: &output)
        return true
    }

    /// Hands the listener's connection to a new peer and makes the next listener from a spare connection.
    private func takeListener() -> OpenSSLDTLSConnection {
        let connection = listener
        do {
            listener = try spareConnections.popLast() ?? OpenSSLDTLSConnection(context: context, mtu: 1232)
            listener.bio.bufferPool = datagramBuffers
        } catch {
            logger.error("cannot create a DTLS listener: \(error)")
        }
        return connection
    }

    private func continueHandshake(_ peer: Peer, now: NIODeadline, into output: inout [Output]) {
        finishStep(peer.connection.handshake(), of: peer, now: now, into: &output)
    }

    private func finishStep(_ step: DTLSStep, of peer: Peer, now: NIODeadline, into output: inout [Output]) {
        emitOutbound(peer, into: &output)
        switch step {
        case .wantRead:
            break
        case .complete:
            handshaking.remove(peer.address)
            markAddressVerified(peer)
            peer.established = true
            peer.identity = peer.connection.peerIdentity
            let resumed = peer.connection.isResumed
            if resumed { statistics.resumedHandshakes += 1 } else { statistics.fullHandshakes += 1 }
            logger.debug("DTLS handshake complete", metadata: [
                "peer": "\(peer.address.hostAndPort)", "resumed": "\(resumed)",
                "cipher": "\(peer.connection.cipherSuiteName ?? "?")", "identity": "\(peer.identity.map { "\($0)" } ?? "-")",
            ])
            output.append(.established(peer.address, identity: peer.identity, resumed: resumed))
            scheduleIdleScan(now: now)
            readPlaintext(peer, into: &output)
        case .closed:
            remove(peer)
            output.append(.closed(peer.address))
        case .failed(let code, let reason):
            fail(peer, DTLSError(code: code, reason: reason, peer: peer.address), into: &output)
        }
    }

    /// Idle associations are looked for every eighth of the idle timeout (so one is evicted at most 12.5% late).
    private func scheduleIdleScan(now: NIODeadline) {
        guard nextIdleScan == nil else { return }
        nextIdleScan = now + idleScanStep
    }

    private var idleScanStep: TimeAmount {
        let step = max(TimeAmount.nanoseconds(configuration.idleTimeout.nanoseconds / 8), .milliseconds(100))
        return min(step, configuration.idleTimeout)
    }

    /// No deadline that ``receive(_:from:now:into:)`` or ``send(_:to:now:)`` adds at time `t` is earlier than
    /// `t` plus this (a retransmission timer starts at the initial timeout, a handshake has its timeout, the idle
    /// scan its step). A driver whose timer already fires before that needs no ``nextDeadline(now:)`` after them.
    var shortestNewDeadlineDelay: TimeAmount {
        min(configuration.initialRetransmissionTimeout, configuration.handshakeTimeout, idleScanStep)
    }

    private func readPlaintext(_ peer: Peer, into output: inout [Output]) {
        let identity = peer.identity
        let address = peer.address
        let step = peer.connection.readPlaintext(scratch: plaintextScratch) { plaintext in
            output.append(.plaintext(plaintext, from: address, identity: identity))
        }
        emitOutbound(peer, into: &output)
        switch step {
        case .wantRead, .complete:
            break
        case .closed:
            logger.debug("peer closed the DTLS association", metadata: ["peer": "\(address.hostAndPort)"])
            peer.connection.shutdown()
            emitOutbound(peer, into: &output)
            remove(peer)
            recycle(peer)
            output.append(.closed(address))
        case .failed(let code, let reason):
            fail(peer, DTLSError(code: code, reason: reason, peer: address), into: &output)
        }
    }

    private func evict(_ peer: Peer, reason: String, into output: inout [Output]) {
        statistics.evictions += 1
        logger.debug("closing DTLS association into a saved session", metadata: [
            "peer": "\(peer.address.hostAndPort)", "reason": "\(reason)",
        ])
        peer.connection.shutdown()
        emitOutbound(peer, into: &output)
        remove(peer)
        recycle(peer)
        output.append(.closed(peer.address))
    }

    /// Keeps the connection of an association that ended cleanly (established, close_notify sent) for reuse.
    /// Failed handshakes are never reused: their connection goes with the peer.
    private func recycle(_ peer: Peer) {
        guard peer.established, spareConnections.count < DTLSServerEngine.spareConnectionLimit,
            peer.connection.prepareForReuse(mtu: 1232)
        else { return }
        spareConnections.append(peer.connection)
    }

    private func fail(_ peer: Peer, _ error: DTLSError, into output: inout [Output]) {
        if !peer.established { statistics.failedHandshakes += 1 }
        logger.notice("DTLS failure", metadata: [
            "peer": "\(peer.address.hostAndPort)", "code": "\(error.code)", "reason": "\(error.reason)",
        ])
        remove(peer)
        output.append(.failed(peer.address, error))
    }

    private func timeoutError(_ peer: Peer) -> DTLSError {
        var reason = "handshake timed out"
        if peer.connection.usesPSK {
            reason += " (possibly wrong credentials"
            if let identity = peer.connection.pskIdentity { reason += " for PSK identity \"\(identity)\"" }
            reason += ")"
        }
        return DTLSError(code: .handshakeTimedOut, reason: reason, peer: peer.address)
    }

    /// The handshake finished (or the peer is gone): it no longer counts against the bound of handshakes without a
    /// cookie exchange.
    private func markAddressVerified(_ peer: Peer) {
        guard !peer.addressVerified else { return }
        peer.addressVerified = true
        unverifiedHandshakes -= 1
    }

    private func remove(_ peer: Peer) {
        markAddressVerified(peer)
        handshaking.remove(peer.address)
        if peers[peer.address] === peer { peers[peer.address] = nil }
    }

    private func emitOutbound(_ peer: Peer, into output: inout [Output]) {
        let address = peer.address
        peer.connection.drainOutbound { output.append(.datagram($0, to: address)) }
    }
}

/// Cheap checks on DTLS record headers (RFC 6347 section 4.1) before OpenSSL sees a datagram.
enum DTLSRecord {
    /// Whether the datagram starts with an epoch-0 handshake record carrying a ClientHello.
    static func isInitialClientHello(_ datagram: ByteBuffer) -> Bool {
        guard datagram.readableBytes >= 25,
            let type = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self),
            let epoch = datagram.getInteger(at: datagram.readerIndex + 3, as: UInt16.self),
            let handshakeType = datagram.getInteger(at: datagram.readerIndex + 13, as: UInt8.self)
        else { return false }
        return type == 22 && epoch == 0 && handshakeType == 1
    }

    /// The 32-byte random of a ClientHello in the first record (record header 13 bytes, handshake header 12,
    /// client_version 2), if the record is long enough.
    static func clientHelloRandom(_ datagram: ByteBuffer) -> [UInt8]? {
        datagram.getBytes(at: datagram.readerIndex + 27, length: 32)
    }

    /// The session a ClientHello offers to resume, if the first record holds the whole ClientHello (one fragment),
    /// its session ID is not empty and it carries no cookie: a first ClientHello that asks for an abbreviated
    /// handshake. The record and handshake headers are checked against each other and the datagram's length.
    static func offeredSessionWithoutCookie(_ datagram: ByteBuffer) -> DTLSSessionID? {
        guard isInitialClientHello(datagram) else { return nil }
        return datagram.withUnsafeReadableBytes { bytes -> DTLSSessionID? in
            func uint24(_ offset: Int) -> Int { Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) }
            guard bytes.count >= 60 else { return nil }
            let recordLength = Int(bytes[11]) << 8 | Int(bytes[12])
            let messageLength = uint24(14)
            // fragment_offset 0, fragment_length == length, and the record holds the fragment.
            guard uint24(19) == 0, uint24(22) == messageLength, recordLength >= 12 + messageLength,
                bytes.count >= 13 + recordLength
            else { return nil }
            let idLength = Int(bytes[59])
            let cookieLengthOffset = 60 + idLength
            guard idLength > 0, idLength <= 32, 25 + messageLength > cookieLengthOffset,
                bytes[cookieLengthOffset] == 0
            else { return nil }
            return DTLSSessionID(UnsafeRawBufferPointer(rebasing: bytes[60..<cookieLengthOffset]))
        }
    }
}
