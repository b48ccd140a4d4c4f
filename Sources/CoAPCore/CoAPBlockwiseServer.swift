public import NIOCore
import Logging
import Synchronization

/// Block-wise settings of an endpoint (RFC 7959), for both roles.
public struct CoAPBlockwiseConfiguration: Sendable {
    /// The block size a client uploads with and the largest a server sends or asks for (16 ... 1024).
    public var blockSize: Int
    /// The largest request body a server reassembles (4.13 with Size1 past it).
    public var maxRequestBodySize: Int
    /// The largest response body a client assembles.
    public var maxResponseBodySize: Int
    /// How long a server keeps an unfinished upload or a sliced representation after its last block.
    public var transferLifetime: TimeAmount
    /// The most concurrent uploads and cached representations a server holds (each).
    public var maxTransfers: Int

    /// Creates a configuration.
    public init(
        blockSize: Int = 1024, maxRequestBodySize: Int = 1 << 20, maxResponseBodySize: Int = 16 << 20,
        transferLifetime: TimeAmount = .seconds(247), maxTransfers: Int = 10_000
    ) {
        self.blockSize = CoAPBlockOption.blockSize(atMost: blockSize)
        self.maxRequestBodySize = maxRequestBodySize
        self.maxResponseBodySize = maxResponseBodySize
        self.transferLifetime = transferLifetime
        self.maxTransfers = maxTransfers
    }
}

/// The server half of block-wise transfers for an endpoint: reassembles Block1 requests before the handlers see
/// them and slices large responses into Block2 blocks after, serving later blocks from its cache.
///
/// Stale state expires on the endpoint's timer (`nextExpiry`) and on each request; the heaps make that O(log n)
/// per expired transfer.
final class CoAPBlockwiseServer: Sendable {
    private struct State: Sendable {
        var block1: CoAPBlock1Reassembler<SocketAddress>
        var block2: CoAPBlock2Responder<SocketAddress>
    }

    private let state: Mutex<State>

    init(configuration: CoAPBlockwiseConfiguration) {
        state = Mutex(State(
            block1: CoAPBlock1Reassembler(configuration: .init(
                maxBodySize: configuration.maxRequestBodySize, preferredBlockSize: configuration.blockSize,
                transferLifetime: configuration.transferLifetime, maxTransfers: configuration.maxTransfers)),
            block2: CoAPBlock2Responder(configuration: .init(
                preferredBlockSize: configuration.blockSize, cacheLifetime: configuration.transferLifetime,
                maxCachedRepresentations: configuration.maxTransfers))))
    }

    /// Wraps `next` so it sees whole request bodies and may return bodies of any size. Requests the
    /// block-wise layer rejects itself (4.00, 4.02, 4.08, 4.13, 5.03) are logged at `.info`.
    func wrap(_ next: @escaping CoAPResponder, clock: any CoAPClock, logger: Logger) -> CoAPResponder {
        { [self] request in
            let now = clock.now
            let peer = request.peer
            let early: CoAPMessage? = state.withLock { s in
                s.block1.expire(now: now)
                s.block2.expire(now: now)
                return s.block2.cachedResponse(for: request.message, from: peer, now: now)
            }
            if let early {
                if !early.code.isSuccess { Self.logRejection(early, of: request, logger: logger) }
                return early
            }
            let action = state.withLock { $0.block1.receive(request.message, from: peer, now: now) }
            var response: CoAPMessage
            switch action {
            case .respond(let reply):
                if !reply.code.isSuccess { Self.logRejection(reply, of: request, logger: logger) }
                return reply
            case .passThrough:
                response = try await next(request)
            case .complete(let whole, let block1):
                var complete = request
                complete.message = whole
                response = try await next(complete)
                if response.code.isSuccess { response.setBlock1(block1) }
            }
            return slice(response, for: request.message, to: peer, now: clock.now)
        }
    }

    private static func logRejection(_ reply: CoAPMessage, of request: CoAPIncomingRequest, logger: Logger) {
        logger.info("CoAP block-wise request rejected", metadata: {
            var metadata: Logger.Metadata = [
                "peer": "\(request.peer.hostAndPort)", "mid": "\(request.message.messageID)",
                "path": "\(request.message.uriPathString)", "code": "\(reply.code)"]
            if let block1 = try? request.message.block1() { metadata["block1"] = "\(block1)" }
            if let block2 = try? request.message.block2() { metadata["block2"] = "\(block2)" }
            if let size1 = request.message.size1 { metadata["size1"] = "\(size1)" }
            return metadata
        }())
    }

    /// Slices `response` to `request` for `peer` (the first block, or the block asked for).
    func slice(_ response: CoAPMessage, for request: CoAPMessage, to peer: SocketAddress, now: NIODeadline) -> CoAPMessage {
        state.withLock { $0.block2.response(response, for: request, to: peer, now: now) }
    }

    /// When the next upload or cached representation may expire.
    var nextExpiry: NIODeadline? {
        state.withLock { s in [s.block1.nextExpiry, s.block2.nextExpiry].compactMap { $0 }.min() }
    }

    /// Drops expired uploads and representations.
    func expire(now: NIODeadline) {
        state.withLock { s in
            s.block1.expire(now: now)
            s.block2.expire(now: now)
        }
    }

    /// Unfinished uploads and cached representations.
    var counts: (uploads: Int, representations: Int) {
        state.withLock { ($0.block1.count, $0.block2.count) }
    }
}
