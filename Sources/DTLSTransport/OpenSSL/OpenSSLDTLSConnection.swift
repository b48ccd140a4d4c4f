internal import COpenSSL
import CoAPCore
import NIOCore

/// One OpenSSL DTLS connection (`SSL` plus its datagram BIO), driven without I/O: feed a datagram, run a step,
/// drain the datagrams OpenSSL wants to send.
///
/// This is the only type the engines use to talk to OpenSSL (through ``DTLSBackendConnection``), so another
/// backend (for raw public keys or Connection IDs, which OpenSSL 3.0 lacks) can replace it.
final class OpenSSLDTLSConnection: DTLSBackendConnection {
    let ssl: OpaquePointer
    let bio: DatagramBIO
    let context: OpenSSLDTLSContext
    /// The PSK identity used in the handshake (set by the PSK callbacks).
    var pskIdentity: String?
    /// The last alert sent or received (set by the info callback): whether it was received, and OpenSSL's alert
    /// value. Kept as numbers: every association ends with a close_notify, and the text is only needed for a failure.
    var lastAlertCode: (received: Bool, value: Int32)?
    /// The last alert sent or received, as text.
    var lastAlert: String? {
        guard let (received, value) = lastAlertCode else { return nil }
        let description = String(cString: SSL_alert_desc_string_long(value))
        return received ? "peer sent alert: \(description)" : "sent alert: \(description)"
    }
    /// A reason found by a callback (e.g. an unknown PSK identity).
    var failureHint: String?
    /// Server: whether the handshake may be a full one. False for a resumption without a cookie exchange: if
    /// OpenSSL does not resume the session, the handshake stops before any key exchange work (and sets
    /// ``refusedFullHandshake``).
    var allowsFullHandshake = true
    /// Set when the handshake stopped because it would have been a full one (see ``allowsFullHandshake``).
    var refusedFullHandshake = false

    init(context: OpenSSLDTLSContext, mtu: Int) throws(DTLSError) {
        guard let ssl = SSL_new(context.ctx) else {
            throw .invalidConfiguration("SSL_new failed: \(OpenSSLError.drain())")
        }
        let bio = DatagramBIO(mtu: mtu)
        guard let rawBIO = bio.makeBIO() else {
            SSL_free(ssl)
            throw .invalidConfiguration("BIO_new failed")
        }
        self.ssl = ssl
        self.bio = bio
        self.context = context
        SSL_set_bio(ssl, rawBIO, rawBIO)
        _ = lwm2m_SSL_set_app_data(ssl, Unmanaged.passUnretained(self).toOpaque())
        DTLS_set_timer_cb(ssl, retransmissionTimerCallback)
        if context.isServer {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let name = context.configuration.expectedServerName {
                _ = lwm2m_SSL_set_tlsext_host_name(ssl, name)
                _ = SSL_set1_host(ssl, name)
            }
        }
    }

    deinit {
        SSL_free(ssl)  // frees the BIO, which only points at `bio` unretained
    }

    /// Makes a server connection whose association ended cleanly (close_notify sent) usable for another peer, so
    /// the server engine can keep a few instead of paying `SSL_free` + `SSL_new` (and their buffer allocations) per
    /// handshake. `SSL_clear` resets the handshake and record state (OpenSSL's `DTLSv1_listen` runs it again anyway)
    /// and keeps the BIO, the callbacks and the read and write buffers; the previous session is released (it stays
    /// in the context's session cache) and the Swift side forgets the previous peer. Returns `false` when OpenSSL
    /// refuses (then the connection must not be reused).
    func prepareForReuse(mtu: Int) -> Bool {
        guard context.isServer, SSL_clear(ssl) == 1, SSL_set_session(ssl, nil) == 1 else {
            clearErrorQueue()
            return false
        }
        // DTLSv1_listen set SSL_OP_COOKIE_EXCHANGE, which SSL_clear keeps: a handshake started without
        // DTLSv1_listen (a resumption without a cookie exchange) would send a HelloVerifyRequest of its own.
        // DTLSv1_listen needs no option and sets it again.
        _ = SSL_clear_options(ssl, lwm2m_SSL_OP_COOKIE_EXCHANGE)
        pskIdentity = nil
        lastAlertCode = nil
        failureHint = nil
        allowsFullHandshake = true
        refusedFullHandshake = false
        bio.reset(mtu: mtu)
        return true
    }

    static func from(_ ssl: OpaquePointer?) -> OpenSSLDTLSConnection? {
        guard let ssl, let data = lwm2m_SSL_get_app_data(ssl) else { return nil }
        return Unmanaged<OpenSSLDTLSConnection>.fromOpaque(data).takeUnretainedValue()
    }

    // MARK: DTLSBackendConnection

    func feed(_ datagram: ByteBuffer) {
        bio.inbound = datagram
    }

    func listen() -> DTLSListenResult {
        // No clearErrorQueue() first: DTLSv1_listen empties the error queue itself.
        let address = BIO_ADDR_new()
        defer { BIO_ADDR_free(address) }
        let result = DTLSv1_listen(ssl, address)
        bio.inbound = nil
        if result > 0 {
            DTLS_set_timer_cb(ssl, retransmissionTimerCallback)
            return .accepted
        }
        clearErrorQueue()
        return result == 0 ? .helloVerifySent : .dropped
    }

    func handshake() -> DTLSStep {
        // SSL_get_error reads the thread's error queue, which must start clean: OpenSSL 3.0's handshake state
        // machine empties it on every SSL_do_handshake, so no clearErrorQueue() here.
        let result = SSL_do_handshake(ssl)
        bio.inbound = nil
        if result == 1 { return .complete }
        return classify(result)
    }

    func readPlaintext(scratch: UnsafeMutableRawBufferPointer, _ deliver: (ByteBuffer) -> Void) -> DTLSStep {
        // Each record is read whole into `scratch` (at least one record's worth, so a record is never split across
        // reads) and copied into a buffer of its own size.
        assert(scratch.count >= dtlsPlaintextScratchSize)
        clearErrorQueue()
        while true {
            var count = 0
            let result = SSL_read_ex(ssl, scratch.baseAddress, scratch.count, &count)
            if result == 1 {
                var buffer = ByteBufferAllocator().buffer(capacity: count)
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: scratch[..<count]))
                deliver(buffer)
                continue
            }
            let step = classify(0)
            bio.inbound = nil
            return step
        }
    }

    func write(_ plaintext: ByteBuffer) -> Bool {
        var written = 0
        clearErrorQueue()
        let result = plaintext.withUnsafeReadableBytes { bytes in
            SSL_write_ex(ssl, bytes.baseAddress, bytes.count, &written)
        }
        if result != 1 { ERR_clear_error() }
        return result == 1
    }

    func shutdown() {
        _ = SSL_shutdown(ssl)
        clearErrorQueue()
    }

    func markClosedWithoutNotify() {
        // Keeps the session resumable although no close_notify was exchanged.
        SSL_set_shutdown(ssl, lwm2m_SSL_RECEIVED_SHUTDOWN | 1 /* SSL_SENT_SHUTDOWN */)
    }

    func drainOutbound(_ deliver: (ByteBuffer) -> Void) {
        guard !bio.outbound.isEmpty else { return }
        for datagram in bio.outbound { deliver(datagram) }
        bio.outbound.removeAll(keepingCapacity: true)  // the next flight appends without allocating an array
    }

    var retransmissionDelay: TimeAmount? {
        var tv = timeval()
        guard lwm2m_DTLSv1_get_timeout(ssl, &tv) == 1 else { return nil }
        return .seconds(Int64(tv.tv_sec)) + .microseconds(Int64(tv.tv_usec))
    }

    func handleRetransmissionTimeout() -> Bool {
        let result = lwm2m_DTLSv1_handle_timeout(ssl)
        if result < 0 { ERR_clear_error() }
        return result >= 0
    }

    var isResumed: Bool { SSL_session_reused(ssl) == 1 }

    var isEstablished: Bool { SSL_is_init_finished(ssl) == 1 }

    var usesPSK: Bool {
        guard let cipher = SSL_get_current_cipher(ssl) else {
            return context.configuration.pskStore != nil || context.configuration.pskClientCredentials != nil
        }
        return String(cString: SSL_CIPHER_get_name(cipher)).hasPrefix("PSK")
    }

    var cipherSuiteName: String? {
        guard let cipher = SSL_get_current_cipher(ssl) else { return nil }
        return String(cString: SSL_CIPHER_get_name(cipher))
    }

    var peerIdentity: CoAPPeerIdentity? {
        if usesPSK {
            if let pskIdentity { return .psk(identity: pskIdentity) }
            if let identity = SSL_get_psk_identity(ssl) { return .psk(identity: String(cString: identity)) }
            return nil
        }
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        var buffer = [CChar](repeating: 0, count: 256)
        let length = X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), lwm2m_NID_commonName, &buffer, 256)
        guard length >= 0 else { return nil }
        return .certificate(commonName: String(cStringBuffer: buffer))
    }

    func savedSession() -> DTLSSavedSession? {
        guard let session = SSL_get1_session(ssl) else { return nil }
        return DTLSSavedSession(taking: session)
    }

    func resume(_ session: DTLSSavedSession) {
        _ = SSL_set_session(ssl, session.pointer)
    }

    // MARK: Helpers

    private func classify(_ result: Int32) -> DTLSStep {
        let error = SSL_get_error(ssl, result)
        switch error {
        case lwm2m_SSL_ERROR_WANT_READ, lwm2m_SSL_ERROR_WANT_WRITE:
            return .wantRead
        case lwm2m_SSL_ERROR_ZERO_RETURN:
            return .closed
        default:
            let verify = SSL_get_verify_result(ssl)
            let queue = OpenSSLError.drain()
            if verify != Int(X509_V_OK) {
                let text = String(cString: X509_verify_cert_error_string(verify))
                return .failed(code: .certificateVerificationFailed, reason: "certificate verification failed: \(text)")
            }
            let reason = [failureHint, lastAlert, queue].compactMap { $0 }.joined(separator: "; ")
            return .failed(code: .handshakeFailed, reason: reason)
        }
    }
}

/// Empties the thread's OpenSSL error queue before a call whose outcome `SSL_get_error` judges. Looking first is
/// much cheaper than `ERR_clear_error`, which resets all 16 slots, and the queue is almost always empty.
private func clearErrorQueue() {
    if ERR_peek_error() != 0 { ERR_clear_error() }
}

/// OpenSSL's retransmission timer: first the configured timeout, then doubling up to the configured maximum.
private func retransmissionTimerCallback(_ ssl: OpaquePointer?, _ previous: UInt32) -> UInt32 {
    guard let context = OpenSSLDTLSContext.from(ssl) else { return 1_000_000 }
    let initial = UInt64(max(1, context.configuration.initialRetransmissionTimeout.nanoseconds / 1000))
    let maximum = UInt64(max(1, context.configuration.maximumRetransmissionTimeout.nanoseconds / 1000))
    if previous == 0 { return UInt32(min(initial, UInt64(UInt32.max))) }
    return UInt32(min(min(UInt64(previous) * 2, maximum), UInt64(UInt32.max)))
}

/// A resumable DTLS session (OpenSSL `SSL_SESSION`), a few hundred bytes.
///
/// `@unchecked Sendable`: an `SSL_SESSION` is reference counted with atomic counts and immutable once the
/// handshake that made it finished; OpenSSL documents sharing it between connections on several threads.
public final class DTLSSavedSession: @unchecked Sendable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        SSL_SESSION_free(pointer)
    }

    /// The session's DER size in bytes (what keeping it costs, roughly).
    public var encodedSize: Int {
        Int(i2d_SSL_SESSION(pointer, nil))
    }
}
