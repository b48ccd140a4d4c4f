internal import COpenSSL
import CoAPCore
import NIOCore

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

    init(configuration: DTLSConfiguration, isServer: Bool) throws(DTLSError) {
        guard let ctx = SSL_CTX_new(DTLS_method()) else {
            throw .invalidConfiguration("SSL_CTX_new failed: \(OpenSSLError.drain())")
        }
        self.ctx = ctx
        self.configuration = configuration
        self.isServer = isServer
        lwm2m_SSL_CTX_set_app_data(ctx, Unmanaged.passUnretained(self).toOpaque())
        try configure()
    }

    deinit {
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
            _ = lwm2m_SSL_CTX_set_session_cache_mode(ctx, Int(lwm2m_SSL_SESS_CACHE_SERVER))
            _ = lwm2m_SSL_CTX_sess_set_cache_size(ctx, configuration.maximumSavedSessions)
            _ = SSL_CTX_set_timeout(ctx, Int(max(1, configuration.sessionLifetime.nanoseconds / 1_000_000_000)))
            SSL_CTX_set_cookie_generate_cb(ctx, cookieGenerateCallback)
            SSL_CTX_set_cookie_verify_cb(ctx, cookieVerifyCallback)
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

    static func from(_ ssl: OpaquePointer?) -> OpenSSLDTLSContext? {
        guard let ssl, let ctx = SSL_get_SSL_CTX(ssl), let data = lwm2m_SSL_CTX_get_app_data(ctx) else { return nil }
        return Unmanaged<OpenSSLDTLSContext>.fromOpaque(data).takeUnretainedValue()
    }
}

// MARK: - C callbacks (no captures; they find their Swift objects through app data and the BIO)

private func cookieGenerateCallback(
    _ ssl: OpaquePointer?, _ cookie: UnsafeMutablePointer<UInt8>?, _ length: UnsafeMutablePointer<UInt32>?
) -> Int32 {
    guard let context = OpenSSLDTLSContext.from(ssl), let key = context.cookieKeys.first,
        let bio = DatagramBIO.from(SSL_get_rbio(ssl)), let cookie, let length
    else { return 0 }
    guard let value = key.cookie(for: bio.peerKey) else { return 0 }
    for (index, byte) in value.enumerated() { cookie[index] = byte }
    length.pointee = UInt32(value.count)
    return 1
}

private func cookieVerifyCallback(
    _ ssl: OpaquePointer?, _ cookie: UnsafePointer<UInt8>?, _ length: UInt32
) -> Int32 {
    guard let context = OpenSSLDTLSContext.from(ssl), let bio = DatagramBIO.from(SSL_get_rbio(ssl)), let cookie,
        length == 16
    else { return 0 }
    let received = Array(UnsafeBufferPointer(start: cookie, count: Int(length)))
    for key in context.cookieKeys {
        guard let expected = key.cookie(for: bio.peerKey) else { continue }
        if CRYPTO_memcmp(expected, received, 16) == 0 { return 1 }
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
    let description = String(cString: SSL_alert_desc_string_long(value))
    if whereValue & lwm2m_SSL_CB_READ != 0 {
        connection.lastAlert = "peer sent alert: \(description)"
    } else {
        connection.lastAlert = "sent alert: \(description)"
    }
}

// MARK: - Helpers

/// A cookie secret as a keyed HMAC-SHA256 context; cookies are the first 16 bytes of the MAC of the peer address.
final class CookieKey {
    /// OpenSSL's HMAC implementation, fetched once. `nonisolated(unsafe)`: set once by Swift's thread-safe lazy
    /// static initialisation; an `EVP_MAC` is immutable and documented as shareable between threads.
    nonisolated(unsafe) private static let hmac: OpaquePointer? = EVP_MAC_fetch(nil, "HMAC", nil)
    private let context: OpaquePointer

    init?(secret: [UInt8]) {
        guard let mac = CookieKey.hmac, let context = EVP_MAC_CTX_new(mac) else { return nil }
        let initialised = "digest".withCString { name in
            "SHA256".withCString { value in
                var parameters = [
                    OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: value), 0),
                    OSSL_PARAM_construct_end(),
                ]
                return EVP_MAC_init(context, secret, secret.count, &parameters)
            }
        }
        guard initialised == 1 else {
            EVP_MAC_CTX_free(context)
            return nil
        }
        self.context = context
    }

    deinit {
        EVP_MAC_CTX_free(context)
    }

    func cookie(for peer: [UInt8]) -> [UInt8]? {
        guard let copy = EVP_MAC_CTX_dup(context) else { return nil }
        defer { EVP_MAC_CTX_free(copy) }
        var digest = [UInt8](repeating: 0, count: 32)
        var length = 0
        guard EVP_MAC_update(copy, peer, peer.count) == 1, EVP_MAC_final(copy, &digest, &length, 32) == 1 else {
            return nil
        }
        return Array(digest.prefix(16))
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
    static func certificates(_ pem: String) throws(DTLSError) -> [OpaquePointer] {
        let bytes = Array(pem.utf8)
        guard let bio = BIO_new_mem_buf(bytes, Int32(bytes.count)) else { throw .invalidConfiguration("BIO") }
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
        let bytes = Array(pem.utf8)
        guard let bio = BIO_new_mem_buf(bytes, Int32(bytes.count)) else { throw .invalidConfiguration("BIO") }
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            throw .invalidConfiguration("no PEM private key: \(OpenSSLError.drain())")
        }
        return key
    }
}

extension SocketAddress {
    /// A canonical byte form of the address and port (used as cookie input and as a dictionary key).
    var dtlsPeerKey: [UInt8] {
        Array("\(ipAddress ?? description)|\(port ?? 0)".utf8)
    }
}

extension String {
    /// Decodes a NUL-terminated C string held in an array.
    init(cStringBuffer buffer: [CChar]) {
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
