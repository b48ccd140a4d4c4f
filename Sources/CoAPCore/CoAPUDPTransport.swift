public import Logging
public import NIOCore
public import NIOPosix

/// Plain CoAP over UDP on SwiftNIO (`DatagramBootstrap`), IPv4 or IPv6.
public final class CoAPUDPTransport: CoAPTransport {
    /// The bound address, with the real port when bound to port 0.
    public let localAddress: SocketAddress
    /// Inbound datagrams (buffered up to `inboundBufferLimit`; newer ones are dropped when full).
    public let inbound: AsyncStream<CoAPDatagram>
    /// Always `coap`.
    public var scheme: String { "coap" }

    private let channel: any Channel
    private let logger: Logger

    /// How many unread inbound datagrams are buffered before new ones are dropped.
    public static let inboundBufferLimit = 16_384

    private init(channel: any Channel, localAddress: SocketAddress, inbound: AsyncStream<CoAPDatagram>, logger: Logger) {
        self.channel = channel
        self.localAddress = localAddress
        self.inbound = inbound
        self.logger = logger
    }

    /// Binds a UDP socket to `host`:`port` (port 0 picks a free port), e.g. `127.0.0.1`, `::1`, `0.0.0.0`
    /// or `::`.
    public static func bind(
        host: String, port: Int = 0,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "coap.udp", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws -> CoAPUDPTransport {
        let (stream, continuation) = AsyncStream<CoAPDatagram>.makeStream(
            bufferingPolicy: .bufferingOldest(inboundBufferLimit))
        // No SO_REUSEADDR: on Linux it lets UDP sockets share a port (a second server on 5683 would silently take
        // the first one's datagrams, and a port-0 bind could land on a port other such sockets hold). UDP has no
        // TIME_WAIT, so a restarted server rebinds its port without it.
        let channel = try await DatagramBootstrap(group: group)
            .coapDatagramReadBatching(messages: 16, slotSize: 2048)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(InboundHandler(continuation: continuation, logger: logger))
                }
            }
            .bind(host: host, port: port)
            .get()
        guard let address = channel.localAddress else {
            try? await channel.close()
            throw CoAPTransportError(reason: "the bound UDP channel reports no local address")
        }
        logger.debug("CoAP UDP transport bound", metadata: ["address": "\(address.hostAndPort)"])
        return CoAPUDPTransport(channel: channel, localAddress: address, inbound: stream, logger: logger)
    }

    /// Sends one datagram (fire and forget; failures are logged).
    public func send(_ datagram: CoAPDatagram) {
        let envelope = AddressedEnvelope(remoteAddress: datagram.remote, data: datagram.data)
        let logger = logger
        channel.writeAndFlush(envelope).whenFailure { error in
            logger.debug("CoAP UDP send failed", metadata: ["remote": "\(datagram.remote.hostAndPort)", "error": "\(error)"])
        }
    }

    /// Closes the socket; `inbound` finishes.
    public func close() async {
        try? await channel.close()
    }

    private final class InboundHandler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>

        let continuation: AsyncStream<CoAPDatagram>.Continuation
        let logger: Logger

        init(continuation: AsyncStream<CoAPDatagram>.Continuation, logger: Logger) {
            self.continuation = continuation
            self.logger = logger
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            // The datagram is a slice of the channel's pooled read buffer (room for 16 datagrams): copy it out so
            // a buffered datagram holds only its own bytes and the pool's buffer is reused for the next read.
            var copy = context.channel.allocator.buffer(capacity: envelope.data.readableBytes)
            copy.writeImmutableBuffer(envelope.data)
            continuation.yield(CoAPDatagram(remote: envelope.remoteAddress, data: copy))
        }

        func channelInactive(context: ChannelHandlerContext) {
            continuation.finish()
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A UDP socket survives per-datagram errors (e.g. ICMP unreachable); log and carry on.
            logger.debug("CoAP UDP socket error", metadata: ["error": "\(error)"])
        }
    }
}

extension DatagramBootstrap {
    /// Reads up to `messages` datagrams per `recvmmsg` into one pooled buffer of `slotSize`-byte slots, once
    /// per readiness event: a lone datagram costs one system call (instead of a `recvmsg` plus a second one that
    /// finds the socket empty), and a burst is read in batches. A datagram longer than a slot is truncated, as a
    /// plain read into a buffer of that size would truncate it. The buffer is reused as long as no handler keeps
    /// a slice of it.
    package func coapDatagramReadBatching(messages: Int, slotSize: Int) -> DatagramBootstrap {
        self.channelOption(.datagramVectorReadMessageCount, value: messages)
            .channelOption(.maxMessagesPerRead, value: 1)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: messages * slotSize))
    }
}

/// A transport could not be set up.
public struct CoAPTransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A human explanation.
    public var reason: String

    /// Creates an error.
    public init(reason: String) { self.reason = reason }

    public var description: String { "CoAP transport error: \(reason)" }
}
