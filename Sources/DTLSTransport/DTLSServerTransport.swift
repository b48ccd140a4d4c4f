public import CoAPCore
public import Logging
public import NIOCore

/// A CoAP transport over DTLS 1.2 for a server: many peers on one UDP socket (`coaps`).
///
/// Inbound datagrams carry the peer's authenticated identity (``CoAPDatagram/peerIdentity``). Sending to a peer
/// without an established association drops the datagram (DTLS servers do not initiate handshakes).
///
/// The socket is served by a thread of its own (``DTLSServerSocketLoop``): it waits in `poll`, reads one datagram
/// with `recvfrom`, runs the engine and sends its answers with `sendto`, as a plain C server does. A SwiftNIO
/// channel cost 10-20 µs more per PSK handshake on the same engine (its read, pipeline, flush and event loop
/// work per datagram); see docs/DTLSTransport.md.
public final class DTLSServerTransport: CoAPTransport {
    /// The bound address (with the real port when bound to port 0).
    public let localAddress: SocketAddress
    /// Decrypted datagrams from authenticated peers.
    public let inbound: AsyncStream<CoAPDatagram>
    /// Always `coaps`.
    public var scheme: String { "coaps" }
    private let loop: DTLSServerSocketLoop

    private init(loop: DTLSServerSocketLoop, inbound: AsyncStream<CoAPDatagram>) {
        self.loop = loop
        self.localAddress = loop.localAddress
        self.inbound = inbound
    }

    /// Binds a UDP socket and serves DTLS on it.
    ///
    /// - Parameters:
    ///   - host: The address to bind (`0.0.0.0`, `::`, `127.0.0.1`, ...).
    ///   - port: The port (5684 is CoAPS's default; 0 picks a free one).
    ///   - configuration: Credentials and limits; must have a PSK store or certificates.
    ///   - group: Not used: the socket is served by a thread of the transport's own (the parameter stays for
    ///     source compatibility).
    ///   - logger: Where handshake failures and evictions are logged.
    public static func bind(
        host: String,
        port: Int,
        configuration: DTLSConfiguration,
        group: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "swift-lwm2m.dtls.server")
    ) async throws -> DTLSServerTransport {
        // Fails early (and typed) on bad credentials, before a socket exists.
        let engine = try DTLSServerEngine(configuration: configuration, logger: logger)
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let (stream, continuation) = AsyncStream.makeStream(of: CoAPDatagram.self)
        // No SO_REUSEADDR: a port is held by one server alone (see CoAPUDPTransport.bind).
        let loop = try DTLSServerSocketLoop(
            binding: address, engine: engine, receiveSize: max(2048, configuration.maximumPlaintextSize + 128),
            continuation: continuation, logger: logger)
        loop.start()
        return DTLSServerTransport(loop: loop, inbound: stream)
    }

    /// Encrypts and sends one datagram to its ``CoAPDatagram/remote`` peer.
    public func send(_ datagram: CoAPDatagram) {
        loop.send(datagram)
    }

    /// Sends close_notify to every peer, closes the socket and finishes ``inbound``.
    public func close() async {
        await loop.close()
    }
}
