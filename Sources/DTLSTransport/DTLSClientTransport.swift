public import CoAPCore
public import Logging
public import NIOCore
import NIOPosix

/// A CoAP transport over DTLS 1.2 for a client: one association with one server (`coaps`).
///
/// ``connect(to:configuration:sessionCache:group:logger:)`` returns once the handshake finished and throws a
/// ``DTLSError`` (``DTLSError/Code/handshakeTimedOut`` with a "possibly wrong credentials" hint for PSK,
/// ``DTLSError/Code/certificateVerificationFailed``, ...) when it did not. Afterwards a send after the server
/// closed the association resumes the session transparently.
public final class DTLSClientTransport: CoAPTransport {
    /// The local address of the client's socket.
    public let localAddress: SocketAddress
    /// The server's address.
    public let server: SocketAddress
    /// Decrypted datagrams from the server (with the server's identity).
    public let inbound: AsyncStream<CoAPDatagram>
    /// The server's identity from the first handshake (certificate CN, or the PSK identity used).
    public let serverIdentity: CoAPPeerIdentity?
    /// Whether the first handshake resumed a cached session.
    public let resumedSession: Bool
    /// Always `coaps`.
    public var scheme: String { "coaps" }
    private let channel: any Channel

    private init(
        channel: any Channel, localAddress: SocketAddress, server: SocketAddress, inbound: AsyncStream<CoAPDatagram>,
        serverIdentity: CoAPPeerIdentity?, resumedSession: Bool
    ) {
        self.channel = channel
        self.localAddress = localAddress
        self.server = server
        self.inbound = inbound
        self.serverIdentity = serverIdentity
        self.resumedSession = resumedSession
    }

    /// Opens a UDP socket and completes a DTLS handshake with `server`.
    public static func connect(
        to server: SocketAddress,
        configuration: DTLSConfiguration,
        sessionCache: DTLSClientSessionCache? = nil,
        group: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "swift-lwm2m.dtls.client")
    ) async throws(DTLSError) -> DTLSClientTransport {
        _ = try DTLSClientEngine(configuration: configuration, server: server, logger: logger)
        let (stream, continuation) = AsyncStream.makeStream(of: CoAPDatagram.self)
        let loop = (group ?? MultiThreadedEventLoopGroup.singleton).next()
        let established = loop.makePromise(of: EstablishedInfo.self)
        let channel: any Channel
        do {
            channel = try await DatagramBootstrap(group: loop)
                .coapDatagramReadBatching(
                    messages: 4, slotSize: max(2048, configuration.maximumPlaintextSize + 128))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let engine = try DTLSClientEngine(
                            configuration: configuration, server: server, sessionCache: sessionCache, logger: logger)
                        let handler = DTLSClientHandler(
                            engine: engine, continuation: continuation, established: established)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .bind(host: server.protocol == .inet6 ? "::" : "0.0.0.0", port: 0)
                .get()
        } catch let error as DTLSError {
            throw error
        } catch {
            throw DTLSError(code: .io, reason: "cannot open a UDP socket: \(error)", peer: server)
        }
        channel.pipeline.fireUserInboundEventTriggered(DTLSClientHandler.Start())
        let info: EstablishedInfo
        do {
            info = try await established.futureResult.get()
        } catch {
            try? await channel.close()
            if let error = error as? DTLSError { throw error }
            throw DTLSError(code: .io, reason: "\(error)", peer: server)
        }
        return DTLSClientTransport(
            channel: channel, localAddress: channel.localAddress ?? server, server: server, inbound: stream,
            serverIdentity: info.identity, resumedSession: info.resumed)
    }

    /// Encrypts and sends one datagram to the server (the datagram's `remote` is ignored).
    public func send(_ datagram: CoAPDatagram) {
        channel.writeAndFlush(datagram, promise: nil)
    }

    /// Sends close_notify, closes the socket and finishes ``inbound``.
    public func close() async {
        try? await channel.close()
    }
}

struct EstablishedInfo: Sendable {
    var identity: CoAPPeerIdentity?
    var resumed: Bool
}

/// Drives a ``DTLSClientEngine`` from a datagram channel.
final class DTLSClientHandler: ChannelDuplexHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundIn = CoAPDatagram
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    struct Start {}

    private let engine: DTLSClientEngine
    private let continuation: AsyncStream<CoAPDatagram>.Continuation
    private var established: EventLoopPromise<EstablishedInfo>?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?

    init(
        engine: DTLSClientEngine, continuation: AsyncStream<CoAPDatagram>.Continuation,
        established: EventLoopPromise<EstablishedInfo>
    ) {
        self.engine = engine
        self.continuation = continuation
        self.established = established
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is Start {
            perform(engine.start(now: .now()), context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == engine.server else { return }
        perform(engine.receive(envelope.data, now: .now()), context: context)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let datagram = unwrapOutboundIn(data)
        perform(engine.send(datagram.data, now: .now()), context: context, flush: false)  // the caller flushes
        promise?.succeed()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        perform(engine.close(), context: context)
        timer?.cancel()
        context.close(mode: mode, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        established?.fail(DTLSError(code: .closed, reason: "the socket closed", peer: engine.server))
        established = nil
        continuation.finish()
        context.fireChannelInactive()
    }

    private func perform(_ output: [DTLSClientEngine.Output], context: ChannelHandlerContext, flush: Bool = true) {
        var wrote = false
        for item in output {
            switch item {
            case .datagram(let bytes):
                context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: engine.server, data: bytes)), promise: nil)
                wrote = true
            case .plaintext(let bytes):
                continuation.yield(CoAPDatagram(remote: engine.server, data: bytes, peerIdentity: engine.peerIdentity))
            case .established(let identity, let resumed):
                established?.succeed(EstablishedInfo(identity: identity, resumed: resumed))
                established = nil
            case .failed(let error):
                established?.fail(error)
                established = nil
            case .closed:
                break
            }
        }
        if wrote && flush { context.flush() }
        scheduleTimer(context: context)
    }

    private func scheduleTimer(context: ChannelHandlerContext) {
        guard let deadline = engine.nextDeadline(now: .now()) else { return }
        if let current = timerDeadline, current <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        let contextBox = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            self.timerDeadline = nil
            self.timer = nil
            self.perform(self.engine.handleTimers(now: .now()), context: contextBox.value)
        }
    }
}
