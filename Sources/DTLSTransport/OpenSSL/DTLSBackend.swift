import CoAPCore
import NIOCore

/// What the stateless cookie listener did with a datagram from an unknown peer.
enum DTLSListenResult {
    /// A HelloVerifyRequest was written; no state was kept.
    case helloVerifySent
    /// A ClientHello with a valid cookie: this connection now belongs to the peer and continues the handshake.
    case accepted
    /// Not a usable ClientHello.
    case dropped
}

/// The result of one step of a connection.
enum DTLSStep: Equatable {
    /// Needs more datagrams.
    case wantRead
    /// The handshake finished.
    case complete
    /// The peer closed the association (close_notify).
    case closed
    /// A fatal error.
    case failed(code: DTLSError.Code, reason: String)
}

/// The interface between the sans-I/O engines and a DTLS library. OpenSSL 3.0 implements it
/// (``OpenSSLDTLSConnection``); a backend with raw public keys or Connection IDs would implement it as well.
protocol DTLSBackendConnection: AnyObject {
    func feed(_ datagram: ByteBuffer)
    func listen() -> DTLSListenResult
    /// Server: false while the handshake must not become a full one (a resumption without a cookie exchange); a full
    /// handshake then stops before any key exchange work and ``refusedFullHandshake`` is set.
    var allowsFullHandshake: Bool { get set }
    var refusedFullHandshake: Bool { get }
    func handshake() -> DTLSStep
    /// Hands each decrypted record to `deliver`, reading it into `scratch` (at least
    /// ``dtlsPlaintextScratchSize`` bytes, owned by the caller) first.
    func readPlaintext(scratch: UnsafeMutableRawBufferPointer, _ deliver: (ByteBuffer) -> Void) -> DTLSStep
    func write(_ plaintext: ByteBuffer) -> Bool
    func shutdown()
    func markClosedWithoutNotify()
    /// Hands each datagram written since the last drain to `deliver`, in order, and forgets them.
    func drainOutbound(_ deliver: (ByteBuffer) -> Void)
    var retransmissionDelay: TimeAmount? { get }
    func handleRetransmissionTimeout() -> Bool
    var isResumed: Bool { get }
    var isEstablished: Bool { get }
    var usesPSK: Bool { get }
    var pskIdentity: String? { get }
    var peerIdentity: CoAPPeerIdentity? { get }
    var cipherSuiteName: String? { get }
    func savedSession() -> DTLSSavedSession?
    func resume(_ session: DTLSSavedSession)
}

/// The largest plaintext one DTLS record carries (2^14 bytes, RFC 6347 section 4.1 via RFC 5246 section 6.2.1).
let dtlsPlaintextScratchSize = 16_384

extension DTLSBackendConnection {
    /// Reads plaintext like ``readPlaintext(scratch:_:)`` with a temporary scratch buffer (for a driver that has
    /// none of its own).
    func readPlaintext(_ deliver: (ByteBuffer) -> Void) -> DTLSStep {
        withUnsafeTemporaryAllocation(byteCount: dtlsPlaintextScratchSize, alignment: 8) { scratch in
            readPlaintext(scratch: scratch, deliver)
        }
    }
}
