/// How one endpoint authenticates to a server or bootstrap server: a PSK identity and key, an X.509 certificate
/// subject common name, and whether it may also use NoSec (plain CoAP).
///
/// An endpoint with no security information at all is governed by the store's
/// ``LwM2MSecurityStore/noSecForUnknownEndpoints`` policy.
public struct LwM2MSecurityInfo: Sendable, Hashable {
    /// A pre-shared key and the identity the client presents with it.
    public struct PSK: Sendable, Hashable {
        /// The PSK identity (sent by the client in the DTLS handshake).
        public var identity: String
        /// The key bytes.
        public var key: [UInt8]

        /// Creates PSK credentials.
        public init(identity: String, key: [UInt8]) {
            self.identity = identity
            self.key = key
        }
    }

    /// The endpoint client name (`ep`) these credentials belong to.
    public var endpoint: String
    /// The PSK credentials, if the endpoint uses PSK mode.
    public var psk: PSK?
    /// The subject common name the endpoint's certificate must carry, if it uses certificate mode.
    public var certificateCommonName: String?
    /// Whether the endpoint may also use NoSec (plain CoAP) although it has credentials.
    public var allowsNoSec: Bool

    /// Creates security information.
    public init(endpoint: String, psk: PSK? = nil, certificateCommonName: String? = nil, allowsNoSec: Bool = false) {
        self.endpoint = endpoint
        self.psk = psk
        self.certificateCommonName = certificateCommonName
        self.allowsNoSec = allowsNoSec
    }

    /// PSK mode only.
    public static func psk(endpoint: String, identity: String, key: [UInt8]) -> LwM2MSecurityInfo {
        LwM2MSecurityInfo(endpoint: endpoint, psk: PSK(identity: identity, key: key))
    }

    /// Certificate mode only; the certificate's subject CN must be `commonName` (default: the endpoint name).
    public static func certificate(endpoint: String, commonName: String? = nil) -> LwM2MSecurityInfo {
        LwM2MSecurityInfo(endpoint: endpoint, certificateCommonName: commonName ?? endpoint)
    }

    /// NoSec only (explicitly allowed even when the store refuses NoSec for unknown endpoints).
    public static func noSec(endpoint: String) -> LwM2MSecurityInfo {
        LwM2MSecurityInfo(endpoint: endpoint, allowsNoSec: true)
    }

    /// The modes this endpoint may use, e.g. `psk`, `x509`, `psk, nosec`.
    public var modes: String {
        var out: [String] = []
        if psk != nil { out.append("psk") }
        if certificateCommonName != nil { out.append("x509") }
        if allowsNoSec { out.append("nosec") }
        return out.isEmpty ? "none" : out.joined(separator: ", ")
    }
}

/// The identity a secure transport authenticated, in network-free terms (the Kits map their transport's peer
/// identity to this).
public enum LwM2MSecurityCredential: Hashable, Sendable, CustomStringConvertible {
    /// A DTLS pre-shared-key identity.
    case psk(identity: String)
    /// An X.509 certificate, by its subject common name.
    case certificate(commonName: String)

    /// The security mode name: `psk` or `x509`.
    public var mode: String {
        switch self {
        case .psk: return "psk"
        case .certificate: return "x509"
        }
    }

    /// The identity text: the PSK identity or the certificate's common name.
    public var identity: String {
        switch self {
        case .psk(let identity): return identity
        case .certificate(let commonName): return commonName
        }
    }

    /// `psk:<identity>` or `x509:<common name>`.
    public var description: String { "\(mode):\(identity)" }
}

/// Whether a request may act for an endpoint, and why not.
public enum LwM2MSecurityDecision: Hashable, Sendable {
    /// The credential (or its absence) is acceptable for the endpoint.
    case allowed
    /// Refused; the reason names the endpoint and what it must use.
    case denied(reason: String)

    /// Whether the decision is `.allowed`.
    public var isAllowed: Bool { self == .allowed }
}
