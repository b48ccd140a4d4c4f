public import NIOCore
import CoAPCore

/// An error of the DTLS layer: a handshake that failed or timed out, a configuration OpenSSL refused, a closed
/// association. Compared by ``code`` only.
public struct DTLSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong; an open set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name.
        public let name: String

        /// The configuration (keys, certificates, cipher suites) was rejected.
        public static let invalidConfiguration = Code(name: "invalidConfiguration")
        /// The handshake failed with an alert or a protocol error.
        public static let handshakeFailed = Code(name: "handshakeFailed")
        /// The handshake did not finish in time. With PSK this usually means the two sides hold different keys:
        /// DTLS drops records it cannot authenticate instead of answering with an alert.
        public static let handshakeTimedOut = Code(name: "handshakeTimedOut")
        /// The peer's certificate could not be verified against the trust anchors.
        public static let certificateVerificationFailed = Code(name: "certificateVerificationFailed")
        /// The association was closed (close_notify, shutdown or eviction).
        public static let closed = Code(name: "closed")
        /// Too many handshakes or sessions; the peer was turned away.
        public static let overloaded = Code(name: "overloaded")
        /// A socket-level failure.
        public static let io = Code(name: "io")

        /// The code's name.
        public var description: String { name }
    }

    /// What went wrong.
    public var code: Code
    /// A human-readable reason (OpenSSL's error string, the alert received, ...).
    public var reason: String
    /// The peer the error concerns, if any.
    public var peer: SocketAddress?

    /// Creates an error.
    public init(code: Code, reason: String, peer: SocketAddress? = nil) {
        self.code = code
        self.reason = reason
        self.peer = peer
    }

    /// Compares by code only.
    public static func == (lhs: DTLSError, rhs: DTLSError) -> Bool { lhs.code == rhs.code }

    /// Hashes the code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// The code, reason and peer.
    public var description: String {
        var text = "DTLSError.\(code): \(reason)"
        if let peer { text += " (peer \(peer.hostAndPort))" }
        return text
    }

    static func invalidConfiguration(_ reason: String) -> DTLSError { DTLSError(code: .invalidConfiguration, reason: reason) }
    static func handshakeFailed(_ reason: String, peer: SocketAddress?) -> DTLSError {
        DTLSError(code: .handshakeFailed, reason: reason, peer: peer)
    }
}
