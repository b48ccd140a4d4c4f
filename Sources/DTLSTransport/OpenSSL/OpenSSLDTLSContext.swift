internal import COpenSSL
import CoAPCore
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns an OpenSSL `SSL_CTX` configured for DTLS 1.2 with the RFC 7925 profile, and the state its C callbacks
/// need (PSK store, cookie secrets).
///
/// Confined to one isolation domain (an engine and its event loop), like the connections made from it.
final class OpenSSLDTLSContext {
    let ctx: OpaquePointer
    let configuration: DTLSConfiguration
    let isServer: Bool
    /// HMAC secrets for stateless cookies: the current one and the one before (still accepted).
    /// One keyed HMAC-SHA256 context per cookie secret (current first), so a cookie costs a context copy
    /// instead of OpenSSL 3.0's algorithm fetch in the one-shot `HMAC()`.
    private(set) var cookieKeys: [CookieKey] = []
    private var cookieSecretBorn: NIODeadline?
    /// Server: the IDs of the sessions in OpenSSL's session cache, with when each expires (OpenSSL's clock, seconds
    /// since the epoch). Kept by the cache's new and remove callbacks, so a ClientHello can be asked whether it offers
    /// a session this server would resume before any state is made for it.
    private var resumableSessions: [DTLSSessionID: Int] = [:]

    init(configuration: DTLSConfiguration, isServer: Bool) throws(DTLSError) {
        let library = DTLSLibraryContext.shared
        guard let ctx = SSL_CTX_new_ex(library.context, library.propertyQuery, DTLS_method()) else {
            throw .invalidConfiguration("SSL_CTX_new failed: \(OpenSSLError.drain())")
        }
        self.ctx = ctx
        self.configuration = configuration
        self.isServer = isServer
        lwm2m_SSL_CTX_set_app_data(ctx, Unmanaged.passUnretained(self).toOpaque())
        try configure()
    }

    deinit {
        // SSL_CTX_free empties the session cache through the remove callback, which must not reach this object
        // while it is being deinitialized.
        SSL_CTX_sess_set_remove_cb(ctx, nil)
        SSL_CTX_free(ctx)
    }

    private func configure() throws(DTLSError) {
        _ = lwm2m_SSL_CTX_set_min_proto_version(ctx, lwm2m_DTLS1_2_VERSION)
        _ = lwm2m_SSL_CTX_set_max_proto_version(ctx, lwm2m_DTLS1_2_VERSION)
        _ = lwm2m_SSL_CTX_set_options(
            ctx, lwm2m_SSL_OP_NO_TICKET | lwm2m_SSL_OP_NO_RENEGOTIATION | lwm2m_SSL_OP_NO_COMPRESSION)
        _ = lwm2m_SSL_CTX_set1_groups_list(ctx, "P-256")
        // The write buffer is sized for the largest record: 16 KB by default, which no datagram needs.
        _ = lwm2m_SSL_CTX_set_max_send_fragment(ctx, min(max(configuration.maximumPlaintextSize, 512), 16_384))
        // (SSL_MODE_RELEASE_BUFFERS is left off: OpenSSL 3.0 keeps DTLS read and write buffers regardless; measured
        // with DTLSBenchmarks' memory row, which did not move.)
        let hasPSK = isServer ? configuration.pskStore != nil : configuration.pskClientCredentials != nil
        let certificates = configuration.certificates
        let hasOwnCertificate = !(certificates?.certificateChainPEM.isEmpty ?? true)
        let suites = configuration.cipherSuites.filter { suite in
            suite.isPSK ? hasPSK : (certificates != nil && (hasOwnCertificate || !isServer))
        }
        guard !suites.isEmpty else {
            throw .invalidConfiguration("no cipher suite left: configure a PSK or certificates")
        }
        let list = suites.map(\.openSSLName).joined(separator: ":")
        guard SSL_CTX_set_cipher_list(ctx, list) == 1 else {
            throw .invalidConfiguration("cipher list \(list) rejected: \(OpenSSLError.drain())")
        }
        let idContext: [UInt8] = Array("swift-lwm2m".utf8)
        _ = SSL_CTX_set_session_id_context(ctx, idContext, UInt32(idContext.count))
        if isServer {
            // OpenSSL reads a cache size of 0 as "no limit"; here 0 saved sessions means no session cache at all.
            let cacheMode = configuration.maximumSavedSessions > 0 ? lwm2m_SSL_SESS_CACHE_SERVER : lwm2m_SSL_SESS_CACHE_OFF
            _ = lwm2m_SSL_CTX_set_session_cache_mode(ctx, Int(cacheMode))
            _ = lwm2m_SSL_CTX_sess_set_cache_size(ctx, max(configuration.maximumSavedSessions, 1))
            _ = SSL_CTX_set_timeout(ctx, Int(max(1, configuration.sessionLifetime.nanoseconds / 1_000_000_000)))
            SSL_CTX_set_cookie_generate_cb(ctx, cookieGenerateCallback)
            SSL_CTX_set_cookie_verify_cb(ctx, cookieVerifyCallback)
            SSL_CTX_sess_set_new_cb(ctx, sessionCachedCallback)
            SSL_CTX_sess_set_remove_cb(ctx, sessionRemovedCallback)
            SSL_CTX_set_cert_cb(ctx, fullHandshakeCallback, nil)
        } else {
            _ = lwm2m_SSL_CTX_set_session_cache_mode(
                ctx, Int(lwm2m_SSL_SESS_CACHE_CLIENT | lwm2m_SSL_SESS_CACHE_NO_INTERNAL))
        }
        if hasPSK {
            if isServer {
                SSL_CTX_set_psk_server_callback(ctx, pskServerCallback)
                if let hint = configuration.pskIdentityHint {
                    _ = SSL_CTX_use_psk_identity_hint(ctx, hint)
                }
            } else {
                SSL_CTX_set_psk_client_callback(ctx, pskClientCallback)
            }
        }
        SSL_CTX_set_info_callback(ctx, infoCallback)
        if let certificates {
            try configureCertificates(certificates)
        }
    }

    private func configureCertificates(_ certificates: DTLSCertificateConfiguration) throws(DTLSError) {
        if !certificates.certificateChainPEM.isEmpty {
            let chain = try PEM.certificates(certificates.certificateChainPEM)
            guard let leaf = chain.first else { throw .invalidConfiguration("no certificate in the chain PEM") }
            guard SSL_CTX_use_certificate(ctx, leaf) == 1 else {
                throw .invalidConfiguration("certificate rejected: \(OpenSSLError.drain())")
            }
            X509_free(leaf)
            for intermediate in chain.dropFirst() {
                _ = lwm2m_SSL_CTX_add0_chain_cert(ctx, intermediate)  // takes ownership
            }
            let key = try PEM.privateKey(certificates.privateKeyPEM)
            defer { EVP_PKEY_free(key) }
            guard SSL_CTX_use_PrivateKey(ctx, key) == 1, SSL_CTX_check_private_key(ctx) == 1 else {
                throw .invalidConfiguration("private key rejected: \(OpenSSLError.drain())")
            }
        }
        if !certificates.trustAnchorsPEM.isEmpty {
            let store = SSL_CTX_get_cert_store(ctx)
            for anchor in try PEM.certificates(certificates.trustAnchorsPEM) {
                _ = X509_STORE_add_cert(store, anchor)
                X509_free(anchor)
            }
            var mode = lwm2m_SSL_VERIFY_PEER
            if isServer && certificates.requirePeerCertificate { mode |= lwm2m_SSL_VERIFY_FAIL_IF_NO_PEER_CERT }
            SSL_CTX_set_verify(ctx, mode, nil)
        } else {
            SSL_CTX_set_verify(ctx, lwm2m_SSL_VERIFY_NONE, nil)
        }
    }

    /// Rotates the cookie secret when it is older than the configured lifetime (the previous one stays valid).
    func rotateCookieSecretIfNeeded(now: NIODeadline) {
        if let born = cookieSecretBorn, now - born < configuration.cookieSecretLifetime { return }
        var secret = [UInt8](repeating: 0, count: 32)
        _ = RAND_bytes(&secret, 32)
        guard let key = CookieKey(secret: secret) else { return }
        cookieKeys.insert(key, at: 0)
        if cookieKeys.count > 2 { cookieKeys.removeLast() }
        cookieSecretBorn = now
    }

    /// Server: whether a session with `id` is in the session cache and not expired, so that a ClientHello offering
    /// it leads to an abbreviated handshake. A hint, not a promise: OpenSSL decides when it reads the ClientHello.
    func canResume(_ id: DTLSSessionID) -> Bool {
        guard let expiry = resumableSessions[id] else { return false }
        return time(nil) < expiry
    }

    /// Test hook: records `id` as resumable although OpenSSL's cache does not hold it.
    func recordResumableForTesting(_ id: DTLSSessionID) {
        resumableSessions[id] = time(nil) + 3600
    }

    fileprivate func sessionCached(_ session: OpaquePointer) {
        guard let id = DTLSSessionID(session) else { return }
        // The remove callback keeps this index as small as OpenSSL's bounded cache; should a removal ever be
        // missed, the index is still bounded (entries forgotten early only cost a cookie exchange).
        if resumableSessions.count >= max(configuration.maximumSavedSessions, 1) * 2 {
            resumableSessions.removeAll(keepingCapacity: true)
        }
        resumableSessions[id] = SSL_SESSION_get_time(session) + SSL_SESSION_get_timeout(session)
    }

    fileprivate func sessionRemoved(_ session: OpaquePointer) {
        guard let id = DTLSSessionID(session) else { return }
        resumableSessions[id] = nil
    }

    /// A client context for `configuration`, shared with earlier clients of the same configuration.
    ///
    /// `SSL_CTX_new` plus configuration costs far more than a handshake in OpenSSL 3.0 (it loads every cipher,
    /// group and signature algorithm from the providers), and a client used to pay it on every connect. Client
    /// contexts are immutable once configured (the cookie state is the server's), and OpenSSL lets several threads
    /// create connections from one `SSL_CTX`, so the few most recently used ones are kept process-wide.
    static func client(configuration: DTLSConfiguration) throws(DTLSError) -> OpenSSLDTLSContext {
        let key = ClientContextKey(configuration)
        if let cached = ClientContextCache.shared.context(for: key) { return cached }
        let context = try OpenSSLDTLSContext(configuration: configuration, isServer: false)
        ClientContextCache.shared.store(context, for: key)
        return context
    }

    static func from(_ ssl: OpaquePointer?) -> OpenSSLDTLSContext? {
        guard let ssl, let ctx = SSL_get_SSL_CTX(ssl), let data = lwm2m_SSL_CTX_get_app_data(ctx) else { return nil }
        return Unmanaged<OpenSSLDTLSContext>.fromOpaque(data).takeUnretainedValue()
    }
}

/// The OpenSSL library context every DTLS `SSL_CTX` is made in: OpenSSL's default provider plus a provider with a
/// faster TLS 1.2 PRF (see `prf_provider.h` in COpenSSL), preferred through the property query.
///
/// OpenSSL 3.0's own PRF computes each HMAC block through `EVP_MAC` (context copy, init, final, free, cleanses), and
/// a DTLS server handshake runs the PRF eight times: that was about half of the server's instructions per PSK
/// handshake. When the context cannot be made, the default context and OpenSSL's PRF are used.
struct DTLSLibraryContext: @unchecked Sendable {
    // `@unchecked Sendable`: both fields are set once by the lazy global initializer (run exactly once, thread-safe)
    // and never changed; OpenSSL library contexts are safe to use from several threads once their providers are
    // loaded.
    let context: OpaquePointer?
    let propertyQuery: UnsafePointer<CChar>?

    static let shared: DTLSLibraryContext = {
        guard let context = lwm2m_make_dtls_library_context() else {
            return DTLSLibraryContext(context: nil, propertyQuery: nil)
        }
        return DTLSLibraryContext(context: context, propertyQuery: lwm2m_dtls_property_query)
    }()
}

/// Everything in a client ``DTLSConfiguration`` that the `SSL_CTX` or its callbacks read.
struct ClientContextKey: Hashable {
    var pskIdentity: String?
    var pskKey: [UInt8]?
    var certificateChainPEM: String?
    var privateKeyPEM: String?
    var trustAnchorsPEM: String?
    var expectedServerName: String?
    var cipherSuites: [String]
    var maximumPlaintextSize: Int
    var initialRetransmissionTimeout: Int64
    var maximumRetransmissionTimeout: Int64

    init(_ configuration: DTLSConfiguration) {
        pskIdentity = configuration.pskClientCredentials?.identity
        pskKey = configuration.pskClientCredentials?.key
        certificateChainPEM = configuration.certificates?.certificateChainPEM
        privateKeyPEM = configuration.certificates?.privateKeyPEM
        trustAnchorsPEM = configuration.certificates?.trustAnchorsPEM
        expectedServerName = configuration.expectedServerName
        cipherSuites = configuration.cipherSuites.map(\.name)
        maximumPlaintextSize = configuration.maximumPlaintextSize
        initialRetransmissionTimeout = configuration.initialRetransmissionTimeout.nanoseconds
        maximumRetransmissionTimeout = configuration.maximumRetransmissionTimeout.nanoseconds
    }
}

/// The process-wide cache of client contexts: at most ``capacity``, the least recently used one dropped first.
final class ClientContextCache: Sendable {
    /// A client context that may cross threads.
    ///
    /// `@unchecked Sendable`: a client ``OpenSSLDTLSContext`` is not mutated after its initializer (only server
    /// contexts rotate cookie secrets), and OpenSSL documents a configured `SSL_CTX` as safe to create connections
    /// from on several threads at once.
    final class Entry: @unchecked Sendable {
        let key: ClientContextKey
        let context: OpenSSLDTLSContext

        init(key: ClientContextKey, context: OpenSSLDTLSContext) {
            self.key = key
            self.context = context
        }
    }

    static let shared = ClientContextCache()
    static let capacity = 8
    private let entries = Mutex<[Entry]>([])

    func context(for key: ClientContextKey) -> OpenSSLDTLSContext? {
        let entry: Entry? = entries.withLock { entries in
            guard let index = entries.firstIndex(where: { $0.key == key }) else { return nil }
            let entry = entries.remove(at: index)
            entries.append(entry)
            return entry
        }
        return entry?.context
    }

    func store(_ context: OpenSSLDTLSContext, for key: ClientContextKey) {
        let entry = Entry(key: key, context: context)
        entries.withLock { entries in
            entries.removeAll { $0.key == key }
            entries.append(entry)
            if entries.count > ClientContextCache.capacity { entries.removeFirst() }
        }
    }
}

// MARK: - C callbacks (no captures; they find their Swift objects through app data and the BIO)

extension DTLSSessionID {
    /// The ID of an OpenSSL session.
    fileprivate init?(_ session: OpaquePointer) {
        var length: UInt32 = 0
        guard let bytes = SSL_SESSION_get_id(session, &length) else { return nil }
        self.init(UnsafeRawBufferPointer(start: bytes, count: Int(length)))
    }
}

/// Runs when a server handshake turns out to be a full one (OpenSSL calls it only when it did not resume a session),
/// before the cipher suite is chosen and before any key exchange work. A connection that may not run a full
/// handshake (a resumption without a cookie exchange) stops here: -1 pauses the handshake with nothing written.
private func fullHandshakeCallback(_ ssl: OpaquePointer?, _ argument: UnsafeMutableRawPointer?) -> Int32 {
    guard let connection = OpenSSLDTLSConnection.from(ssl), !connection.allowsFullHandshake else { return 1 }
    connection.refusedFullHandshake = true
    return -1
}

/// OpenSSL added a session to the server's cache. Returns 0: OpenSSL keeps its own reference.
private func sessionCachedCallback(_ ssl: OpaquePointer?, _ session: OpaquePointer?) -> Int32 {
    guard let context = OpenSSLDTLSContext.from(ssl), let session else { return 0 }
    context.sessionCached(session)
    return 0
}

/// OpenSSL removed a session from the server's cache (expired, evicted, or invalidated by a fatal alert).
private func sessionRemovedCallback(_ ctx: OpaquePointer?, _ session: OpaquePointer?) {
    guard let ctx, let data = lwm2m_SSL_CTX_get_app_data(ctx), let session else { return }
    Unmanaged<OpenSSLDTLSContext>.fromOpaque(data).takeUnretainedValue().sessionRemoved(session)
}

private func cookieGenerateCallback(
    _ ssl: OpaquePointer?, _ cookie: UnsafeMutablePointer<UInt8>?, _ length: UnsafeMutablePointer<UInt32>?
) -> Int32 {
    guard let context = OpenSSLDTLSContext.from(ssl), let key = context.cookieKeys.first,
        let bio = DatagramBIO.from(SSL_get_rbio(ssl)), let cookie, let length
    else { return 0 }
    key.writeCookie(for: bio.peerKey, to: cookie)
    length.pointee = UInt32(CookieKey.length)
    return 1
}

private func cookieVerifyCallback(
    _ ssl: OpaquePointer?, _ cookie: UnsafePointer<UInt8>?, _ length: UInt32
) -> Int32 {
    guard let context = OpenSSLDTLSContext.from(ssl), let bio = DatagramBIO.from(SSL_get_rbio(ssl)), let cookie,
        length == CookieKey.length
    else { return 0 }
    let raw = UnsafeRawPointer(cookie)
    let received = (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    if let verified = bio.verifiedCookie, verified == received { return 1 }  // checked for this peer already
    for key in context.cookieKeys where key.verify(cookie, for: bio.peerKey) {
        bio.verifiedCookie = received
        return 1
    }
    return 0
}

private func pskServerCallback(
    _ ssl: OpaquePointer?, _ identity: UnsafePointer<CChar>?, _ psk: UnsafeMutablePointer<UInt8>?,
    _ maxLength: UInt32
) -> UInt32 {
    guard let context = OpenSSLDTLSContext.from(ssl), let identity, let psk,
        let store = context.configuration.pskStore
    else { return 0 }
    let name = String(cString: identity)
    let connection = OpenSSLDTLSConnection.from(ssl)
    connection?.pskIdentity = name
    guard let key = store.key(forIdentity: name), !key.isEmpty, key.count <= Int(maxLength) else {
        connection?.failureHint = "unknown PSK identity \"\(name)\""
        return 0
    }
    for (index, byte) in key.enumerated() { psk[index] = byte }
    return UInt32(key.count)
}

private func pskClientCallback(
    _ ssl: OpaquePointer?, _ hint: UnsafePointer<CChar>?, _ identity: UnsafeMutablePointer<CChar>?,
    _ maxIdentityLength: UInt32, _ psk: UnsafeMutablePointer<UInt8>?, _ maxPSKLength: UInt32
) -> UInt32 {
    guard let context = OpenSSLDTLSContext.from(ssl), let identity, let psk,
        let credentials = context.configuration.pskClientCredentials
    else { return 0 }
    let name = Array(credentials.identity.utf8)
    guard name.count < Int(maxIdentityLength), credentials.key.count <= Int(maxPSKLength) else { return 0 }
    for (index, byte) in name.enumerated() { identity[index] = CChar(bitPattern: byte) }
    identity[name.count] = 0
    for (index, byte) in credentials.key.enumerated() { psk[index] = byte }
    OpenSSLDTLSConnection.from(ssl)?.pskIdentity = credentials.identity
    return UInt32(credentials.key.count)
}

private func infoCallback(_ ssl: OpaquePointer?, _ whereValue: Int32, _ value: Int32) {
    guard whereValue & lwm2m_SSL_CB_ALERT != 0, let connection = OpenSSLDTLSConnection.from(ssl) else { return }
    connection.lastAlertCode = (received: whereValue & lwm2m_SSL_CB_READ != 0, value: value)
}

// MARK: - Helpers

/// A cookie secret as HMAC-SHA256 (RFC 2104) pad states; a cookie is the first 16 bytes of the MAC of the peer's
/// address. The inner and outer SHA-256 states after the key pads are computed once per secret, so a cookie costs
/// two SHA-256 compressions and no allocation (OpenSSL 3.0's `EVP_MAC` copy cost about 8 times more).
final class CookieKey {
    /// The cookie length in bytes.
    static let length = 16
    private var inner = SHA256_CTX()
    private var outer = SHA256_CTX()

    init?(secret: [UInt8]) {
        guard !secret.isEmpty, secret.count <= 64 else { return nil }
        var pad = [UInt8](repeating: 0x36, count: 64)
        for (index, byte) in secret.enumerated() { pad[index] ^= byte }
        guard lwm2m_SHA256_Init(&inner) == 1, lwm2m_SHA256_Update(&inner, pad, 64) == 1 else { return nil }
        for index in pad.indices { pad[index] ^= 0x36 ^ 0x5C }
        guard lwm2m_SHA256_Init(&outer) == 1, lwm2m_SHA256_Update(&outer, pad, 64) == 1 else { return nil }
        OPENSSL_cleanse(&pad, 64)
    }

    deinit {
        OPENSSL_cleanse(&inner, MemoryLayout<SHA256_CTX>.size)
        OPENSSL_cleanse(&outer, MemoryLayout<SHA256_CTX>.size)
    }

    /// The cookies this secret made last (peer key, cookie), at most ``memoSize``. A cookie is a function of the
    /// secret and the peer's address only, and the server computes it twice per handshake: for the
    /// HelloVerifyRequest, then to check the ClientHello that answers it. The memo answers the second time without
    /// the HMAC (two SHA-256 compressions). Cookies are public (they travel in the clear), so nothing secret is kept.
    private var memo: [(peer: [UInt8], cookie: (UInt64, UInt64))] = []
    private var memoNext = 0
    /// Peers remembered per secret: enough for a few handshakes whose first flights interleave.
    static let memoSize = 8

    /// Writes the ``length``-byte cookie for `peer` to `cookie`.
    func writeCookie(for peer: [UInt8], to cookie: UnsafeMutablePointer<UInt8>) {
        let raw = UnsafeMutableRawPointer(cookie)
        if let hit = memo.first(where: { $0.peer == peer }) {
            raw.storeBytes(of: hit.cookie.0, as: UInt64.self)
            raw.storeBytes(of: hit.cookie.1, toByteOffset: 8, as: UInt64.self)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digest in
            var state = inner
            _ = lwm2m_SHA256_Update(&state, peer, peer.count)
            _ = lwm2m_SHA256_Final(digest.baseAddress, &state)
            state = outer
            _ = lwm2m_SHA256_Update(&state, digest.baseAddress, 32)
            _ = lwm2m_SHA256_Final(digest.baseAddress, &state)
            cookie.update(from: digest.baseAddress!, count: CookieKey.length)
            OPENSSL_cleanse(&state, MemoryLayout<SHA256_CTX>.size)
        }
        let made = (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        if memo.count < CookieKey.memoSize {
            memo.append((peer, made))
        } else {
            memo[memoNext] = (peer, made)
            memoNext = (memoNext + 1) % CookieKey.memoSize
        }
    }

    /// Whether `cookie` (``length`` bytes) is the cookie of `peer` under this secret (constant-time comparison).
    func verify(_ cookie: UnsafePointer<UInt8>, for peer: [UInt8]) -> Bool {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: CookieKey.length) { expected in
            writeCookie(for: peer, to: expected.baseAddress!)
            return CRYPTO_memcmp(expected.baseAddress, cookie, CookieKey.length) == 0
        }
    }
}

enum OpenSSLError {
    /// Empties OpenSSL's thread-local error queue into one line.
    static func drain() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(cStringBuffer: buffer))
        }
        return messages.isEmpty ? "no OpenSSL error" : messages.joined(separator: "; ")
    }
}

enum PEM {
    /// A memory BIO holding a copy of `pem`. (`BIO_new_mem_buf` would keep pointing at the bytes it was given,
    /// and a Swift array passed as a pointer argument is only valid during that one call: the PEM reads that
    /// followed sometimes saw freed memory and found no certificate.)
    private static func memoryBIO(_ pem: String) throws(DTLSError) -> OpaquePointer {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .invalidConfiguration("BIO") }
        let bytes = Array(pem.utf8)
        guard bytes.isEmpty || BIO_write(bio, bytes, Int32(bytes.count)) == Int32(bytes.count) else {
            BIO_free(bio)
            throw .invalidConfiguration("BIO_write")
        }
        return bio
    }

    static func certificates(_ pem: String) throws(DTLSError) -> [OpaquePointer] {
        let bio = try memoryBIO(pem)
        defer { BIO_free(bio) }
        var result: [OpaquePointer] = []
        while let cert = PEM_read_bio_X509(bio, nil, nil, nil) {
            result.append(cert)
        }
        ERR_clear_error()  // the loop ends with a "no start line" error
        guard !result.isEmpty else { throw .invalidConfiguration("no PEM certificate found") }
        return result
    }

    static func privateKey(_ pem: String) throws(DTLSError) -> OpaquePointer {
        let bio = try memoryBIO(pem)
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            throw .invalidConfiguration("no PEM private key: \(OpenSSLError.drain())")
        }
        return key
    }
}

extension SocketAddress {
    /// A canonical byte form of the address and port (the cookie input): the family, then the port and address
    /// bytes as they sit in `sockaddr_in` (offsets 2..<8) or `sockaddr_in6` (port at 2, address and scope id at
    /// 8..<28; the flow label is left out). These offsets are the same on Linux and the BSDs.
    var dtlsPeerKey: [UInt8] {
        let ranges: [Range<Int>]
        switch self {
        case .v4: ranges = [2..<8]
        case .v6: ranges = [2..<4, 8..<28]
        case .unixDomainSocket: return Array("unix|\(description)".utf8)
        }
        return withSockAddr { address, size in
            let raw = UnsafeRawBufferPointer(start: UnsafeRawPointer(address), count: size)
            var key: [UInt8] = [self.protocol == .inet6 ? 6 : 4]
            key.reserveCapacity(27)
            for range in ranges where range.upperBound <= size { key.append(contentsOf: raw[range]) }
            return key
        }
    }
}

extension String {
    /// Decodes a NUL-terminated C string held in an array.
    init(cStringBuffer buffer: [CChar]) {
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension DTLSLibraryContext {
    /// Runs the TLS 1.2 PRF as libssl does (digest SHA-256, the secret, the label and seed as two seed parameters)
    /// in the DTLS library context, or in OpenSSL's default context with its own provider (`openSSLDefault`).
    /// Returns the output and the name of the provider that computed it. For tests that hold the PRF provider to
    /// OpenSSL's implementation.
    static func tls12PRF(
        secret: [UInt8], label: String, seed: [UInt8], length: Int, openSSLDefault: Bool
    ) -> (output: [UInt8], provider: String)? {
        let kdf = openSSLDefault
            ? EVP_KDF_fetch(nil, "TLS1-PRF", "provider=default")
            : EVP_KDF_fetch(shared.context, "TLS1-PRF", shared.propertyQuery)
        guard let kdf else { return nil }
        defer { EVP_KDF_free(kdf) }
        guard let kctx = EVP_KDF_CTX_new(kdf) else { return nil }
        defer { EVP_KDF_CTX_free(kctx) }
        let provider = String(cString: OSSL_PROVIDER_get0_name(EVP_KDF_get0_provider(kdf)))
        var output = [UInt8](repeating: 0, count: length)
        var secret = secret
        var label = Array(label.utf8)
        var seed = seed
        var digest = Array("SHA256".utf8CString)
        // OSSL_PARAM keeps the key pointers: they must outlive the call, unlike Swift's temporary C strings.
        let keys = ["digest", "secret", "seed"].map { name in name.withCString { strdup($0) } }
        defer { keys.forEach { free($0) } }
        let result = digest.withUnsafeMutableBufferPointer { digest in
            secret.withUnsafeMutableBytes { secret in
                label.withUnsafeMutableBytes { label in
                    seed.withUnsafeMutableBytes { seed in
                        var params = [
                            OSSL_PARAM_construct_utf8_string(keys[0], digest.baseAddress, 0),
                            OSSL_PARAM_construct_octet_string(keys[1], secret.baseAddress, secret.count),
                            OSSL_PARAM_construct_octet_string(keys[2], label.baseAddress, label.count),
                            OSSL_PARAM_construct_octet_string(keys[2], seed.baseAddress, seed.count),
                            OSSL_PARAM_construct_end(),
                        ]
                        return EVP_KDF_derive(kctx, &output, length, &params)
                    }
                }
            }
        }
        ERR_clear_error()
        return result == 1 ? (output, provider) : nil
    }
}

extension DTLSLibraryContext {
    /// Generates an EC key of `group` as libssl makes ephemeral keys, in the DTLS library context, and checks it
    /// against a key made by OpenSSL's default context (same group, same public key form, same ECDH secret both
    /// ways). Returns the check's result (1: all hold, negative: the failed step) and the provider that made the
    /// key. For tests that hold the provider's key generation to OpenSSL's.
    static func checkECKeyGeneration(group: String) -> (result: Int32, provider: String) {
        var provider = [CChar](repeating: 0, count: 64)
        let result = lwm2m_check_ec_key_generation(shared.context, shared.propertyQuery, group, &provider, 64)
        ERR_clear_error()
        return (result, String(cStringBuffer: provider))
    }
}

extension DTLSLibraryContext {
    /// Runs the provider's full public-key check and OpenSSL's default full check on a P-256 key whose public point
    /// is of `kind` (see `lwm2m_compare_ec_public_check`: 0 decoded, 1 generated, 2 off the curve, 3 infinity,
    /// 4 given with x + p). Returns both results, or nil when the key could not be built. For tests.
    static func compareECPublicCheck(kind: Int32) -> (ours: Int32, reference: Int32)? {
        _ = shared  // the provider's tables are filled when the library context is made
        var ours: Int32 = -1
        var reference: Int32 = -1
        guard lwm2m_compare_ec_public_check(shared.context, kind, &ours, &reference) == 1 else { return nil }
        return (ours, reference)
    }
}
