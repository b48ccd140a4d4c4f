public import CoAPCore
public import Logging
public import NIOCore
import NIOPosix

/// A CoAP transport over DTLS 1.2 for a server: many peers on one UDP socket (`coaps`).
///
/// Inbound datagrams carry the peer's authenticated identity (``CoAPDatagram/peerIdentity``). Sending to a peer
/// without an established association drops the datagram (DTLS servers do not initiate handshakes).
public final class DTLSServerTransport: CoAPTransport {
    /// The bound address (with the real port when bound to port 0).
    public let localAddress: SocketAddress
    /// Decrypted datagrams from authenticated peers.
    public let inbound: AsyncStream<CoAPDatagram>
    /// Always `coaps`.
    public var scheme: String { "coaps" }
    private let channel: any Channel
    private let handler: NIOLoopBound<DTLSServerHandler>

    private init(
        channel: any Channel, handler: NIOLoopBound<DTLSServerHandler>, localAddress: SocketAddress,
        inbound: AsyncStream<CoAPDatagram>
    ) {
        self.channel = channel
        self.handler = handler
        self.localAddress = localAddress
        self.inbound = inbound
    }

    /// Binds a UDP socket and serves DTLS on it.
    ///
    /// - Parameters:
    ///   - host: The address to bind (`0.0.0.0`, `::`, `127.0.0.1`, ...).
    ///   - port: The port (5684 is CoAPS's default; 0 picks a free one).
    ///   - configuration: Credentials and limits; must have a PSK store or certificates.
    ///   - group: The event loops to run on (`nil`: NIO's shared singleton group).
    ///   - logger: Where handshake failures and evictions are logged.
    public static func bind(
        host: String,
        port: Int,
        configuration: DTLSConfiguration,
        group: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "swift-lwm2m.dtls.server")
    ) async throws -> DTLSServerTransport {
        // Fail early (and typed) on bad credentials, before a socket exists.
        _ = try DTLSServerEngine(configuration: configuration, logger: logger)
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        // The socket is made here so that the handler knows its descriptor and sends on it directly (see
        // DatagramSocketSender); NIO takes ownership of it, reads from it and closes it.
        let descriptor = try DatagramSocketSender.makeBoundSocket(address)
        let slotSize = max(2048, configuration.maximumPlaintextSize + 128)
        let (stream, continuation) = AsyncStream.makeStream(of: CoAPDatagram.self)
        let channel = try await DatagramBootstrap(group: group ?? MultiThreadedEventLoopGroup.singleton)
            .coapDatagramReadBatching(messages: 16, slotSize: slotSize)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let engine = try DTLSServerEngine(configuration: configuration, logger: logger)
                    let sender = DatagramSocketSender(descriptor: descriptor, slotSize: slotSize)
                    let handler = DTLSServerHandler(
                        engine: engine, sender: sender, continuation: continuation, logger: logger)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .withBoundSocket(descriptor)
            .get()
        let handler = try await channel.eventLoop.submit {
            let handler = try channel.pipeline.syncOperations.handler(type: DTLSServerHandler.self)
            return NIOLoopBound(handler, eventLoop: channel.eventLoop)
        }.get()
        guard let local = channel.localAddress else {
            try? await channel.close()
            throw DTLSError(code: .io, reason: "the socket has no local address")
        }
        return DTLSServerTransport(channel: channel, handler: handler, localAddress: local, inbound: stream)
    }

    /// Encrypts and sends one datagram to its ``CoAPDatagram/remote`` peer.
    public func send(_ datagram: CoAPDatagram) {
        let handler = self.handler
        if channel.eventLoop.inEventLoop {
            handler.value.send(datagram)
        } else {
            channel.eventLoop.execute { handler.value.send(datagram) }
        }
    }

    /// Sends close_notify to every peer, closes the socket and finishes ``inbound``.
    public func close() async {
        let handler = self.handler
        try? await channel.eventLoop.submit { handler.value.shutdown() }.get()
        try? await channel.close()
    }
}

/// Drives a ``DTLSServerEngine`` from a datagram channel: ciphertext in as envelopes, plaintext in through
/// ``send(_:)`` and out through an `AsyncStream`, ciphertext out through a ``DatagramSocketSender``.
///
/// An inbound handler only: the transport calls ``send(_:)`` and ``shutdown()`` on the event loop directly, so no
/// read request or write passes through a handler of ours on its way along the pipeline.
///
/// Everything runs on the channel's event loop. What the engine produces for one batch of reads (one `recvmmsg`)
/// collects in an array the handler reuses; at `channelReadComplete` the datagrams go out together (one `sendto`,
/// or one `sendmmsg` for several) and the retransmission timer is looked at once per batch rather than once per
/// datagram. When the socket's send buffer is full, the rest goes through NIO's own write path (which waits for the
/// socket to become writable), and so does everything after it until NIO has written it all, to keep the order.
final class DTLSServerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let engine: DTLSServerEngine
    private let sender: DatagramSocketSender
    /// The handler's context while it is in the pipeline.
    private var context: ChannelHandlerContext?
    private let continuation: AsyncStream<CoAPDatagram>.Continuation
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// The engine's output since the last send: its plaintext is delivered as it comes, its datagrams are sent
    /// straight from here at the end of the read batch, or at once for a send or a timer (emptied then, its storage
    /// kept).
    private var output: [DTLSServerEngine.Output] = []
    /// Datagrams handed to NIO's write path that it has not written yet.
    private var channelWrites = 0
    /// When the current read batch started, if the engine's timers may have changed during it.
    private var batchStart: NIODeadline?
    /// See ``DTLSServerEngine/shortestNewDeadlineDelay``.
    private let shortestNewDeadlineDelay: TimeAmount
    private let logger: Logger

    init(
        engine: DTLSServerEngine, sender: DatagramSocketSender, continuation: AsyncStream<CoAPDatagram>.Continuation,
        logger: Logger
    ) {
        self.engine = engine
        self.sender = sender
        self.continuation = continuation
        self.logger = logger
        self.shortestNewDeadlineDelay = engine.shortestNewDeadlineDelay
        output.reserveCapacity(DatagramSocketSender.batchLimit)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let now = NIODeadline.now()
        let start = output.count
        engine.receive(envelope.data, from: envelope.remoteAddress, now: now, into: &output)
        deliverPlaintext(from: start)
        if batchStart == nil { batchStart = now }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        sendQueued(context: context)
        if let start = batchStart {
            batchStart = nil
            // A timer due before anything this batch can have added needs no look at the engine's deadlines.
            let armedEarlier = timerDeadline.map { $0 <= start + shortestNewDeadlineDelay } ?? false
            if !armedEarlier { scheduleTimer(context: context) }
        }
        context.fireChannelReadComplete()
    }

    /// Encrypts and sends one datagram (on the event loop); dropped, with a debug log line, without an
    /// association with the peer or once the channel is gone.
    func send(_ datagram: CoAPDatagram) {
        guard let context else {
            logger.debug(
                "datagram not sent", metadata: ["peer": "\(datagram.remote.hostAndPort)", "reason": "transport closed"])
            return
        }
        switch engine.send(datagram.data, to: datagram.remote, now: .now()) {
        case .success(let produced):
            emit(produced, context: context)
        case .failure(let error):
            logger.debug(
                "datagram not sent", metadata: ["peer": "\(datagram.remote.hostAndPort)", "reason": "\(error.reason)"])
        }
    }

    /// Sends close_notify to every peer and stops the timer (on the event loop, before the channel closes).
    func shutdown() {
        guard let context else { return }
        perform(engine.shutdown(), context: context)
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        continuation.finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        timer?.cancel()
        continuation.finish()
    }

    /// Delivers the plaintext of ``output`` from `start` on (its datagrams stay for ``sendQueued(context:)``).
    private func deliverPlaintext(from start: Int) {
        for index in start..<output.count {
            if case .plaintext(let bytes, let peer, let identity) = output[index] {
                continuation.yield(CoAPDatagram(remote: peer, data: bytes, peerIdentity: identity))
            }
        }
    }

    /// Sends the datagrams of ``output`` on the socket (what it cannot take now goes through NIO's write path),
    /// then empties it.
    private func sendQueued(context: ChannelHandlerContext) {
        guard !output.isEmpty else { return }
        // Worked on as a local (one exclusivity check instead of one per access); nothing below adds to `output`,
        // which gets the array's storage back at the end.
        var items: [DTLSServerEngine.Output] = []
        swap(&items, &output)
        var handled = 0
        // NIO closes the descriptor when the channel closes: send on it only while the channel is active, and
        // only when NIO holds no earlier datagram.
        if channelWrites == 0 && context.channel.isActive {
            handled = sender.send(items, datagram: DTLSServerHandler.datagram) { peer, error in
                logger.debug(
                    "datagram refused by the socket", metadata: ["peer": "\(peer.hostAndPort)", "errno": "\(error)"])
            }
        }
        if handled < items.count {
            for case .datagram(let bytes, let peer) in items[handled...] {
                channelWrites += 1
                let promise = context.eventLoop.makePromise(of: Void.self)
                promise.futureResult.assumeIsolated().whenComplete { [self] _ in self.channelWrites -= 1 }
                context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: peer, data: bytes)), promise: promise)
            }
            context.flush()
        }
        // The socket is done with these: their buffers carry the next datagrams the engine writes (the last
        // reference is dropped just below).
        for case .datagram(let bytes, _) in items[..<handled] { engine.recycleDatagramBuffer(bytes) }
        items.removeAll(keepingCapacity: true)
        swap(&items, &output)
    }

    private static func datagram(_ item: DTLSServerEngine.Output) -> (ByteBuffer, SocketAddress)? {
        if case .datagram(let bytes, let peer) = item { return (bytes, peer) }
        return nil
    }

    /// Delivers the plaintext and sends the datagrams of what the engine produced outside a read batch.
    private func emit(_ produced: [DTLSServerEngine.Output], context: ChannelHandlerContext) {
        let start = output.count
        output.append(contentsOf: produced)
        deliverPlaintext(from: start)
        sendQueued(context: context)
    }

    /// Emits what the engine produced and re-arms the timer: for timers and shutdown.
    private func perform(_ produced: [DTLSServerEngine.Output], context: ChannelHandlerContext) {
        emit(produced, context: context)
        scheduleTimer(context: context)
    }

    private func scheduleTimer(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        guard let deadline = engine.nextDeadline(now: now) else { return }
        if let current = timerDeadline, current <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        let loop = context.eventLoop.assumeIsolated()
        let contextBox = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = loop.scheduleTask(deadline: deadline) { [self] in
            self.timerDeadline = nil
            self.timer = nil
            let context = contextBox.value
            self.perform(self.engine.handleTimers(now: .now()), context: context)
        }
    }
}
