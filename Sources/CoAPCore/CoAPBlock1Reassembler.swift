public import NIOCore

/// The server side of Block1 uploads (RFC 7959 section 2.3 and 2.5): collects the blocks of a request body per
/// peer and request, answers 2.31 Continue while blocks are missing, 4.08 on a gap or a block that continues no
/// transfer, 4.13 (with Size1) past the maximum body size, and hands the whole request to the application once
/// the last block arrived. A pure state machine: requests and time in, responses and complete requests out.
///
/// Lookups are O(1) (a dictionary keyed by peer and request key); stale transfers expire through a deadline
/// heap in O(log n). Call `expire(now:)` whenever `nextExpiry` has passed.
public struct CoAPBlock1Reassembler<Peer: Hashable & Sendable>: Sendable {
    /// Limits and preferences.
    public struct Configuration: Sendable {
        /// The largest request body accepted (a larger one gets 4.13 with Size1 = this value).
        public var maxBodySize: Int
        /// The largest block size this server wants (a client using a larger one is asked to go smaller).
        public var preferredBlockSize: Int
        /// How long an unfinished transfer is kept after its last block (RFC 7252 EXCHANGE_LIFETIME).
        public var transferLifetime: TimeAmount
        /// The most transfers held at once; more concurrent uploads get 5.03.
        public var maxTransfers: Int

        /// Creates a configuration; `preferredBlockSize` is rounded down to a valid block size.
        public init(
            maxBodySize: Int = 1 << 20, preferredBlockSize: Int = 1024,
            transferLifetime: TimeAmount = .seconds(247), maxTransfers: Int = 10_000
        ) {
            self.maxBodySize = maxBodySize
            self.preferredBlockSize = CoAPBlockOption.blockSize(atMost: preferredBlockSize)
            self.transferLifetime = transferLifetime
            self.maxTransfers = maxTransfers
        }
    }

    /// What to do with a received request.
    public enum Action: Sendable {
        /// Not part of a block-wise upload: handle the request as it is.
        case passThrough
        /// Answer with this response (2.31 Continue, or an error such as 4.08/4.13) and do not call the handler.
        /// Its token and message ID are the request's; its type is ACK for a CON request, else NON.
        case respond(CoAPMessage)
        /// The body is complete: handle `request` (the whole body as payload, no Block1/Size1) and add `block1`
        /// to the final response (RFC 7959 section 2.3).
        case complete(request: CoAPMessage, block1: CoAPBlockOption)
    }

    private struct Transfer: Sendable {
        var body: ByteBuffer
        var lastOffset: Int
        var lastLength: Int
        var deadline: NIODeadline
        var generation: UInt64
    }

    /// The configuration.
    public var configuration: Configuration
    private var transfers: [CoAPBlockTransferKey<Peer>: Transfer] = [:]
    private var expiry = CoAPBlockExpiryQueue<CoAPBlockTransferKey<Peer>>()
    private var generation: UInt64 = 0

    /// Creates a reassembler.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The number of unfinished transfers.
    public var count: Int { transfers.count }

    /// When the next stale transfer may expire (`nil` when none is held).
    public var nextExpiry: NIODeadline? { expiry.earliest }

    /// Whether a transfer for `request` from `peer` is in progress.
    public func hasTransfer(for request: CoAPMessage, from peer: Peer) -> Bool {
        transfers[CoAPBlockTransferKey(peer: peer, request: CoAPBlockRequestKey(request))] != nil
    }

    /// Takes one request and says how to go on.
    public mutating func receive(_ request: CoAPMessage, from peer: Peer, now: NIODeadline) -> Action {
        let max = configuration.maxBodySize
        let block: CoAPBlockOption?
        do {
            block = try request.block1()
        } catch {
            return .respond(Self.reply(to: request, code: error.responseCode))
        }
        guard let block else {
            if request.payload.readableBytes > max || (request.size1 ?? 0) > max {
                return .respond(tooLarge(request))
            }
            return .passThrough
        }
        let key = CoAPBlockTransferKey(peer: peer, request: CoAPBlockRequestKey(request))
        if let size1 = request.size1, size1 > max {
            transfers[key] = nil
            return .respond(tooLarge(request))
        }
        let length = request.payload.readableBytes
        if block.more ? length != block.size : length > block.size {
            transfers[key] = nil
            return .respond(Self.reply(to: request, code: .badRequest))
        }
        let answerSZX = Swift.min(block.szx, CoAPBlockOption.szx(forSize: configuration.preferredBlockSize)!)

        if block.number == 0 {
            transfers[key] = nil
            guard block.offset + length <= max else { return .respond(tooLarge(request)) }
            guard block.more else {
                return .complete(request: Self.whole(request, body: request.payload), block1: block)
            }
            guard transfers.count < configuration.maxTransfers else {
                return .respond(Self.reply(to: request, code: .serviceUnavailable))
            }
            generation &+= 1
            let deadline = now + configuration.transferLifetime
            transfers[key] = Transfer(
                body: request.payload, lastOffset: 0, lastLength: length, deadline: deadline, generation: generation)
            expiry.schedule(key, generation: generation, at: deadline)
            return .respond(continueReply(to: request, number: 0, szx: answerSZX))
        }

        guard var transfer = transfers[key] else {
            return .respond(Self.reply(to: request, code: .requestEntityIncomplete))
        }
        let received = transfer.body.readableBytes
        if block.offset == transfer.lastOffset && length == transfer.lastLength && block.more
            && transfer.lastOffset + transfer.lastLength == received
        {
            // The same block again (a NON retry or a new message ID): answer as before, do not append.
            transfer.deadline = now + configuration.transferLifetime
            transfers[key] = transfer
            return .respond(continueReply(to: request, number: block.number, szx: answerSZX))
        }
        guard block.offset == received else {
            transfers[key] = nil
            return .respond(Self.reply(to: request, code: .requestEntityIncomplete))
        }
        guard received + length <= max else {
            transfers[key] = nil
            return .respond(tooLarge(request))
        }
        transfers[key] = nil  // avoid a copy of the body while appending
        transfer.body.writeImmutableBuffer(request.payload)
        guard block.more else {
            return .complete(request: Self.whole(request, body: transfer.body), block1: block)
        }
        transfer.lastOffset = block.offset
        transfer.lastLength = length
        transfer.deadline = now + configuration.transferLifetime
        transfers[key] = transfer
        return .respond(continueReply(to: request, number: block.number, szx: answerSZX))
    }

    /// Drops the transfers whose lifetime has passed; returns how many.
    @discardableResult
    public mutating func expire(now: NIODeadline) -> Int {
        let transfers = self.transfers
        let keys = expiry.popDue(now: now) { key, generation in
            guard let t = transfers[key], t.generation == generation else { return nil }
            return t.deadline
        }
        for key in keys { self.transfers[key] = nil }
        return keys.count
    }

    /// Forgets every transfer of `peer` (e.g. when its session ends). O(n) in the number of transfers.
    public mutating func removeAll(peer: Peer) {
        transfers = transfers.filter { $0.key.peer != peer }
    }

    // MARK: Responses

    private func continueReply(to request: CoAPMessage, number: UInt32, szx: UInt8) -> CoAPMessage {
        var reply = Self.reply(to: request, code: .continue)
        // The block number echoes the request's; M = 1 says the server acts on the body only when complete.
        reply.setBlock1(try? CoAPBlockOption(number: number, more: true, szx: szx))
        return reply
    }

    private func tooLarge(_ request: CoAPMessage) -> CoAPMessage {
        var reply = Self.reply(to: request, code: .requestEntityTooLarge)
        reply.size1 = UInt32(clamping: configuration.maxBodySize)
        return reply
    }

    static func reply(to request: CoAPMessage, code: CoAPCode) -> CoAPMessage {
        CoAPMessage(
            type: request.type == .confirmable ? .acknowledgement : .nonConfirmable, code: code,
            messageID: request.messageID, token: request.token)
    }

    private static func whole(_ request: CoAPMessage, body: ByteBuffer) -> CoAPMessage {
        var whole = request
        whole.removeOptions(.block1)
        whole.removeOptions(.size1)
        whole.payload = body
        return whole
    }
}
