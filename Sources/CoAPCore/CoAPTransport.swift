public import NIOCore

/// One datagram exchanged with a peer, as a transport hands it to an endpoint or takes it from one.
public struct CoAPDatagram: Sendable {
    /// The peer's address (source of an inbound datagram, destination of an outbound one).
    public var remote: SocketAddress
    /// The datagram's bytes (plaintext CoAP; a secure transport has already removed its record layer).
    public var data: ByteBuffer
    /// The authenticated identity of the peer on a secure transport (PSK identity or certificate subject),
    /// `nil` on plain UDP. Ignored on outbound datagrams.
    public var peerIdentity: CoAPPeerIdentity?

    /// Creates a datagram.
    public init(remote: SocketAddress, data: ByteBuffer, peerIdentity: CoAPPeerIdentity? = nil) {
        self.remote = remote
        self.data = data
        self.peerIdentity = peerIdentity
    }
}

/// Who a secure transport says a peer is.
public enum CoAPPeerIdentity: Hashable, Sendable {
    /// A DTLS pre-shared-key identity.
    case psk(identity: String)
    /// An X.509 certificate, identified by its subject common name.
    case certificate(commonName: String)
}

/// A datagram transport under a CoAP endpoint: plain UDP, DTLS, or the in-memory simulated network.
///
/// A transport delivers inbound datagrams through `inbound` (one consumer: the endpoint) and sends outbound
/// ones without waiting (datagrams may be lost anyway; failures are logged by the transport).
public protocol CoAPTransport: Sendable {
    /// The address this transport is bound to (with the real port when bound to port 0).
    var localAddress: SocketAddress { get }
    /// Inbound datagrams; the sequence finishes when the transport closes.
    var inbound: AsyncStream<CoAPDatagram> { get }
    /// The URI scheme this transport serves: `coap` or `coaps`.
    var scheme: String { get }
    /// Queues one datagram for sending.
    func send(_ datagram: CoAPDatagram)
    /// Closes the transport; `inbound` finishes.
    func close() async
}
