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

    private init(channel: any Channel, localAddress: SocketAddress, inbound: AsyncStream<CoAPDatagram>) {
        self.channel = channel
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
        let (stream, continuation) = AsyncStream.makeStream(of: CoAPDatagram.self)
        let channel = try await DatagramBootstrap(group: group ?? MultiThreadedEventLoopGroup.singleton)
            // No SO_REUSEADDR: a port is held by one server alone (see CoAPUDPTransport.bind).
            .coapDatagramReadBatching(messages: 16, slotSize: max(2048, configuration.maximumPlaintextSize + 128))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let engine = try DTLSServerEngine(configuration: configuration, logger: logger)
                    let handler = DTLSServerHandler(engine: engine, continuation: continuation, logger: logger)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .bind(host: host, port: port)
            .get()
        guard let local = channel.localAddress else {
            try? await channel.close()
            throw DTLSError(code: .io, reason: "the socket has no local address")
        }
        return DTLSServerTransport(channel: channel, localAddress: local, inbound: stream)
    }

    /// Encrypts and sends one datagram to its ``CoAPDatagram/remote`` peer.
    public func send(_ datagram: CoAPDatagram) {
        channel.writeAndFlush(datagram, promise: nil)
    }

    /// Sends close_notify to every peer, closes the socket and finishes ``inbound``.
    public func close() async {
        try? await channel.close()
    }
}

/// Drives a ``DTLSServerEngine`` from a datagram channel: ciphertext in and out as envelopes, plaintext in as
/// ``CoAPDatagram`` writes and out through an `AsyncStream`.
///
/// Everything runs on the channel's event loop. The datagrams answering one batch of reads (one `recvmmsg`) are
/// flushed together at `channelReadComplete` (one `sendmsg`, or one `sendmmsg` for several), and the
/// retransmission timer is looked at once per batch rather than once per datagram.
final class DTLSServerHandler: ChannelDuplexHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundIn = CoAPDatagram
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let engine: DTLSServerEngine
    private let continuation: AsyncStream<CoAPDatagram>.Continuation
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Datagrams were written during the current read batch and wait for its flush.
    private var unflushed = false
    /// The engine's timers may have changed during the current read batch.
    private var timersChanged = false
    private let logger: Logger

    init(engine: DTLSServerEngine, continuation: AsyncStream<CoAPDatagram>.Continuation, logger: Logger) {
        self.engine = engine
        self.continuation = continuation
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        emit(engine.receive(envelope.data, from: envelope.remoteAddress, now: .now()), context: context)
        timersChanged = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            context.flush()
        }
        if timersChanged {
            timersChanged = false
            scheduleTimer(context: context)
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let datagram = unwrapOutboundIn(data)
        switch engine.send(datagram.data, to: datagram.remote, now: .now()) {
        case .success(let output):
            emit(output, context: context)  // the caller's flush (`writeAndFlush`) sends it
            promise?.succeed()
        case .failure(let error):
            logger.debug("datagram not sent", metadata: ["peer": "\(datagram.remote.hostAndPort)", "reason": "\(error.reason)"])
            promise?.fail(error)
        }
    }

    func flush(context: ChannelHandlerContext) {
        unflushed = false
        context.flush()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        perform(engine.shutdown(), context: context)
        timer?.cancel()
        context.close(mode: mode, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        continuation.finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        continuation.finish()
    }

    /// Writes (without flushing) and delivers what the engine produced.
    private func emit(_ output: [DTLSServerEngine.Output], context: ChannelHandlerContext) {
        for item in output {
            switch item {
            case .datagram(let bytes, let peer):
                context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: peer, data: bytes)), promise: nil)
                unflushed = true
            case .plaintext(let bytes, let peer, let identity):
                continuation.yield(CoAPDatagram(remote: peer, data: bytes, peerIdentity: identity))
            case .established, .failed, .closed:
                break  // logged by the engine
            }
        }
    }

    /// Emits, flushes and re-arms the timer: for work outside a read batch (timers, shutdown).
    private func perform(_ output: [DTLSServerEngine.Output], context: ChannelHandlerContext) {
        emit(output, context: context)
        if unflushed {
            unflushed = false
            context.flush()
        }
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
