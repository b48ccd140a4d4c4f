public import CoAPCore
public import DTLSTransport
public import Logging
public import NIOCore

/// A connection to one server account: the transport to run a `CoAPEndpoint` on and the server's address.
public struct LwM2MConnection: Sendable {
    /// The transport (plain UDP, DTLS, or the simulated network in tests).
    public var transport: any CoAPTransport
    /// The server's address.
    public var server: SocketAddress

    /// Creates a connection.
    public init(transport: any CoAPTransport, server: SocketAddress) {
        self.transport = transport
        self.server = server
    }
}

/// Why a server account could not be connected. Compared by code only.
public struct LwM2MConnectionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure (an open set).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The account's Security/Server settings cannot work (e.g. `coaps://` with NoSec, a bad URI).
        public static let invalidConfiguration = Code(name: "invalidConfiguration")
        /// The security mode is not supported (raw public keys, EST).
        public static let unsupportedSecurityMode = Code(name: "unsupportedSecurityMode")
        /// The server's host name does not resolve.
        public static let unresolvableHost = Code(name: "unresolvableHost")
        /// The DTLS handshake failed or timed out (with PSK, a timeout usually means a wrong key).
        public static let handshakeFailed = Code(name: "handshakeFailed")
        /// The socket could not be opened.
        public static let io = Code(name: "io")
        /// The name.
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong.
    public var reason: String
    /// The account's Short Server ID.
    public var shortServerID: UInt16?

    /// Creates an error.
    public init(code: Code, reason: String, shortServerID: UInt16? = nil) {
        self.code = code
        self.reason = reason
        self.shortServerID = shortServerID
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
    /// A one-line description.
    public var description: String {
        "LwM2M connection error (\(code))\(shortServerID.map { " for SSID \($0)" } ?? ""): \(reason)"
    }
}

/// Opens the connection of a server account. `LwM2MClientRuntime` calls it for every account it runs;
/// tests pass one that hands out simulated-network transports.
public protocol LwM2MTransportFactory: Sendable {
    /// Connects to the account's server (for DTLS: returns after the handshake) or throws
    /// `LwM2MConnectionError`.
    func connect(_ account: LwM2MServerAccount) async throws -> LwM2MConnection
}

/// A transport factory from a closure (handy in tests).
public struct LwM2MClosureTransportFactory: LwM2MTransportFactory {
    private let body: @Sendable (LwM2MServerAccount) async throws -> LwM2MConnection

    /// Creates a factory that calls `body`.
    public init(_ body: @escaping @Sendable (LwM2MServerAccount) async throws -> LwM2MConnection) {
        self.body = body
    }

    /// Calls the closure.
    public func connect(_ account: LwM2MServerAccount) async throws -> LwM2MConnection { try await body(account) }
}

/// The real network: `coap://` over `CoAPUDPTransport`, `coaps://` over `DTLSClientTransport` with the
/// credentials of the Security instance:
/// - mode 0 (PSK): identity /0/x/3 (UTF-8), key /0/x/5;
/// - mode 2 (certificate): client certificate /0/x/3 and private key /0/x/5 (DER, PKCS #8 or SEC 1), server
///   certificate or CA certificate /0/x/4 (DER) as the trust anchor; the server's name is not checked (the
///   anchor pins it);
/// - mode 3 (NoSec) only with `coap://`; a `coaps://` URI with NoSec is a configuration error, as is a
///   `coap://` URI with a secure mode.
public struct LwM2MNetworkTransportFactory: LwM2MTransportFactory {
    /// The local UDP port for `coap://` (0 picks a free one). DTLS sockets always use a free port.
    public var localPort: Int
    /// How long a DTLS handshake may take before the account counts as failed.
    public var handshakeTimeout: TimeAmount
    /// Saved DTLS sessions, so that reconnecting to a server is an abbreviated handshake (`nil`: always a full
    /// handshake). Use a fresh cache when credentials change.
    public var sessionCache: DTLSClientSessionCache?
    /// The logger for the DTLS layer.
    public var logger: Logger

    /// Creates a factory.
    public init(
        localPort: Int = 0, handshakeTimeout: TimeAmount = .seconds(30), sessionCache: DTLSClientSessionCache? = nil,
        logger: Logger = Logger(label: "lwm2m.client.transport", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.localPort = localPort
        self.handshakeTimeout = handshakeTimeout
        self.sessionCache = sessionCache
        self.logger = logger
    }

    /// The DTLS configuration for a `coaps://` account.
    public func dtlsConfiguration(for account: LwM2MServerAccount) throws(LwM2MConnectionError) -> DTLSConfiguration {
        var configuration: DTLSConfiguration
        switch account.securityMode {
        case .preSharedKey:
            guard !account.publicKeyOrIdentity.isEmpty, !account.secretKey.isEmpty else {
                throw LwM2MConnectionError(
                    code: .invalidConfiguration, reason: "PSK mode needs an identity (/0/x/3) and a key (/0/x/5)",
                    shortServerID: account.shortServerID)
            }
            configuration = .client(pskIdentity: account.pskIdentity, key: account.secretKey)
        case .certificate:
            guard !account.publicKeyOrIdentity.isEmpty, !account.secretKey.isEmpty else {
                throw LwM2MConnectionError(
                    code: .invalidConfiguration,
                    reason: "certificate mode needs a certificate (/0/x/3) and a private key (/0/x/5)",
                    shortServerID: account.shortServerID)
            }
            let anchors = account.serverPublicKey.isEmpty
                ? "" : LwM2MPEM.pem(fromDER: account.serverPublicKey, label: "CERTIFICATE")
            configuration = DTLSConfiguration(certificates: DTLSCertificateConfiguration(
                certificateChainPEM: LwM2MPEM.pem(fromDER: account.publicKeyOrIdentity, label: "CERTIFICATE"),
                privateKeyPEM: LwM2MPEM.privateKeyPEM(fromDER: account.secretKey),
                trustAnchorsPEM: anchors))
        case .noSecurity:
            throw LwM2MConnectionError(
                code: .invalidConfiguration, reason: "coaps:// server URI with security mode NoSec",
                shortServerID: account.shortServerID)
        default:
            throw LwM2MConnectionError(
                code: .unsupportedSecurityMode, reason: "security mode \(account.securityMode) is not supported",
                shortServerID: account.shortServerID)
        }
        configuration.handshakeTimeout = handshakeTimeout
        return configuration
    }

    /// Resolves the server and opens the transport.
    public func connect(_ account: LwM2MServerAccount) async throws -> LwM2MConnection {
        let uri: LwM2MServerURI
        do {
            uri = try LwM2MServerURI(parsing: account.serverURI)
        } catch {
            throw LwM2MConnectionError(code: .invalidConfiguration, reason: error.reason, shortServerID: account.shortServerID)
        }
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(uri.host, port: uri.port)
        } catch {
            throw LwM2MConnectionError(
                code: .unresolvableHost, reason: "cannot resolve \(uri.host): \(error)", shortServerID: account.shortServerID)
        }
        if !uri.isSecure {
            guard account.securityMode == .noSecurity else {
                throw LwM2MConnectionError(
                    code: .invalidConfiguration, reason: "coap:// server URI with security mode \(account.securityMode)",
                    shortServerID: account.shortServerID)
            }
            do {
                let transport = try await CoAPUDPTransport.bind(
                    host: address.protocol == .inet6 ? "::" : "0.0.0.0", port: localPort)
                return LwM2MConnection(transport: transport, server: address)
            } catch {
                throw LwM2MConnectionError(code: .io, reason: "\(error)", shortServerID: account.shortServerID)
            }
        }
        let configuration = try dtlsConfiguration(for: account)
        do {
            let transport = try await DTLSClientTransport.connect(
                to: address, configuration: configuration, sessionCache: sessionCache, logger: logger)
            return LwM2MConnection(transport: transport, server: address)
        } catch {
            let code: LwM2MConnectionError.Code = error.code == .io ? .io : error.code == .invalidConfiguration
                ? .invalidConfiguration : .handshakeFailed
            throw LwM2MConnectionError(code: code, reason: error.description, shortServerID: account.shortServerID)
        }
    }
}
