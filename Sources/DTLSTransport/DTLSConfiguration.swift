public import NIOCore

/// A DTLS 1.2 cipher suite of the RFC 7925 profile.
public struct DTLSCipherSuite: Hashable, Sendable, CustomStringConvertible {
    /// The IANA name.
    public let name: String
    /// OpenSSL's name for the suite.
    let openSSLName: String
    /// Whether the suite authenticates with a pre-shared key.
    public let isPSK: Bool

    /// TLS_PSK_WITH_AES_128_CCM_8, mandatory for LwM2M PSK mode (RFC 7925 section 4.2).
    public static let pskWithAES128CCM8 = DTLSCipherSuite(
        name: "TLS_PSK_WITH_AES_128_CCM_8", openSSLName: "PSK-AES128-CCM8", isPSK: true)
    /// TLS_PSK_WITH_AES_128_CBC_SHA256 (LwM2M 1.0 compatibility).
    public static let pskWithAES128CBCSHA256 = DTLSCipherSuite(
        name: "TLS_PSK_WITH_AES_128_CBC_SHA256", openSSLName: "PSK-AES128-CBC-SHA256", isPSK: true)
    /// TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, mandatory for certificate mode (RFC 7925 section 4.4).
    public static let ecdheECDSAWithAES128CCM8 = DTLSCipherSuite(
        name: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", openSSLName: "ECDHE-ECDSA-AES128-CCM8", isPSK: false)
    /// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.
    public static let ecdheECDSAWithAES128GCMSHA256 = DTLSCipherSuite(
        name: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", openSSLName: "ECDHE-ECDSA-AES128-GCM-SHA256", isPSK: false)

    /// All four suites, in order of preference.
    public static let rfc7925: [DTLSCipherSuite] = [
        .pskWithAES128CCM8, .pskWithAES128CBCSHA256, .ecdheECDSAWithAES128CCM8, .ecdheECDSAWithAES128GCMSHA256,
    ]

    /// The IANA name.
    public var description: String { name }
}

/// X.509 material for one side of a DTLS association (PEM text).
public struct DTLSCertificateConfiguration: Sendable {
    /// The own certificate chain (leaf first), PEM. Empty for a client without a certificate.
    public var certificateChainPEM: String
    /// The private key of the leaf certificate, PEM.
    public var privateKeyPEM: String
    /// Trust anchors (CA certificates) the peer's certificate must chain to, PEM.
    public var trustAnchorsPEM: String
    /// Whether the peer must present a certificate. A client always verifies the server when anchors are given;
    /// a server asks for client certificates when anchors are given and requires one when this is `true`.
    public var requirePeerCertificate: Bool

    /// Creates certificate material.
    public init(
        certificateChainPEM: String = "",
        privateKeyPEM: String = "",
        trustAnchorsPEM: String = "",
        requirePeerCertificate: Bool = true
    ) {
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
        self.trustAnchorsPEM = trustAnchorsPEM
        self.requirePeerCertificate = requirePeerCertificate
    }
}

/// How a DTLS server or client authenticates and how it paces and bounds its associations.
public struct DTLSConfiguration: Sendable {
    /// Server: looks up the key of a PSK identity. `nil` disables PSK on a server.
    public var pskStore: (any DTLSPSKStore)?
    /// Client: the PSK identity and key to present. `nil` disables PSK on a client.
    public var pskClientCredentials: (identity: String, key: [UInt8])?
    /// Server: the PSK identity hint sent in ServerKeyExchange (`nil`: none).
    public var pskIdentityHint: String?
    /// X.509 material; `nil` disables certificate suites.
    public var certificates: DTLSCertificateConfiguration?
    /// Client: the name the server certificate must carry (checked and sent as SNI); `nil` skips the name check.
    public var expectedServerName: String?
    /// Allowed cipher suites (those lacking credentials are left out automatically).
    public var cipherSuites: [DTLSCipherSuite]
    /// Largest datagram DTLS may send; `nil` picks 1232 bytes on IPv6 paths and 1452 bytes on IPv4 paths.
    public var maximumDatagramSize: Int?
    /// Largest plaintext in one record (512...16384, default 2048: a CoAP message that fits a datagram). Larger
    /// sends are refused; a smaller value shrinks each live connection's write buffer (16 KB at the maximum).
    public var maximumPlaintextSize: Int
    /// First handshake retransmission timeout (doubled on each retransmission, RFC 6347 section 4.2.4.1).
    public var initialRetransmissionTimeout: TimeAmount
    /// Upper bound of the retransmission timeout.
    public var maximumRetransmissionTimeout: TimeAmount
    /// A handshake not finished after this long fails with ``DTLSError/Code/handshakeTimedOut``.
    public var handshakeTimeout: TimeAmount
    /// Server: at most this many handshakes in progress; further new peers are ignored until one finishes.
    public var maximumConcurrentHandshakes: Int
    /// Server: at most this many abbreviated handshakes at once skip the cookie exchange (default 256, a quarter of
    /// the default handshake bound; 0 never skips it). A ClientHello offering a session in the server's cache gets
    /// the ServerHello flight at once, one round trip sooner: RFC 6347 section 4.2.1 allows it for resumption, and
    /// that flight is about the ClientHello's size (173 bytes against 159 with PSK).
    ///
    /// Beyond the bound, for a peer that has an association at the same address, or at the live-session bound (a
    /// peer not yet verified never evicts an association), resumption goes through the cookie exchange. If OpenSSL
    /// does not resume the offered session after all, the handshake stops before any key exchange work, nothing is
    /// sent, and the ClientHello gets a HelloVerifyRequest. Such a handshake's flight is retransmitted once at most.
    /// Set 0 where a forged ClientHello carrying a session ID seen on the network must get no other answer than a
    /// HelloVerifyRequest.
    public var maximumResumptionsWithoutCookie: Int
    /// Server: at most this many live OpenSSL connections (~52 KB each); the least recently used one is closed
    /// into a saved session when a new peer arrives.
    public var maximumLiveSessions: Int
    /// Server: an association idle this long is closed (close_notify) into a saved session.
    public var idleTimeout: TimeAmount
    /// Server: at most this many saved sessions (a few hundred bytes each) kept for abbreviated handshakes; 0 keeps
    /// none (every handshake is a full one).
    public var maximumSavedSessions: Int
    /// Server: how long a saved session can be resumed.
    public var sessionLifetime: TimeAmount
    /// Server: how often the cookie secret rotates (cookies made with the previous secret stay valid).
    public var cookieSecretLifetime: TimeAmount
    /// Client: after this long without hearing from the server, the next send first resumes the session
    /// (an abbreviated handshake), in case the server evicted it; `nil` never does.
    public var autoResumptionTimeout: TimeAmount?

    /// Creates a configuration with the given credentials and the defaults for everything else.
    public init(
        pskStore: (any DTLSPSKStore)? = nil,
        pskClientCredentials: (identity: String, key: [UInt8])? = nil,
        pskIdentityHint: String? = nil,
        certificates: DTLSCertificateConfiguration? = nil,
        expectedServerName: String? = nil,
        cipherSuites: [DTLSCipherSuite] = DTLSCipherSuite.rfc7925
    ) {
        self.pskStore = pskStore
        self.pskClientCredentials = pskClientCredentials
        self.pskIdentityHint = pskIdentityHint
        self.certificates = certificates
        self.expectedServerName = expectedServerName
        self.cipherSuites = cipherSuites
        self.maximumDatagramSize = nil
        self.maximumPlaintextSize = 2048
        self.initialRetransmissionTimeout = .seconds(1)
        self.maximumRetransmissionTimeout = .seconds(60)
        self.handshakeTimeout = .seconds(60)
        self.maximumConcurrentHandshakes = 1024
        self.maximumResumptionsWithoutCookie = 256
        self.maximumLiveSessions = 10_000
        self.idleTimeout = .seconds(300)
        self.maximumSavedSessions = 100_000
        self.sessionLifetime = .hours(24)
        self.cookieSecretLifetime = .seconds(300)
        self.autoResumptionTimeout = nil
    }

    /// A server configuration for PSK.
    public static func server(psk store: any DTLSPSKStore, identityHint: String? = nil) -> DTLSConfiguration {
        DTLSConfiguration(pskStore: store, pskIdentityHint: identityHint)
    }

    /// A client configuration for PSK.
    public static func client(pskIdentity identity: String, key: [UInt8]) -> DTLSConfiguration {
        DTLSConfiguration(pskClientCredentials: (identity, key))
    }

    func datagramSize(for address: SocketAddress) -> Int {
        if let maximumDatagramSize { return maximumDatagramSize }
        if case .v6 = address { return 1232 }
        return 1452
    }
}
