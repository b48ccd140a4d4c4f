public import NIOCore

/// The server side of Block2 downloads (RFC 7959 section 2.4): slices a large response into blocks of the size
/// the client asked for (or the server's preferred, smaller one), and serves the later blocks of the same
/// representation from a per-client cache so that a representation that changes between blocks never mixes
/// and concurrent clients never see each other's bodies.
///
/// Sliced representations carry an ETag (the application's, or a 64-bit FNV-1a digest of the body) so a client
/// can tell when the representation changed under it; Size2 is added when the client asked for it (Size2 = 0
/// in the request) and to the first block. A pure state machine: requests and time in, responses out.
public struct CoAPBlock2Responder<Peer: Hashable & Sendable>: Sendable {
    /// Limits and preferences.
    public struct Configuration: Sendable {
        /// The largest block size this server sends (clients may ask for smaller ones).
        public var preferredBlockSize: Int
        /// How long a sliced representation is kept for its later blocks after the last block request.
        public var cacheLifetime: TimeAmount
        /// The most representations cached at once; when full, later blocks are served by calling the
        /// handler again (the ETag then tells the client whether the body is still the same).
        public var maxCachedRepresentations: Int

        /// Creates a configuration; `preferredBlockSize` is rounded down to a valid block size.
        public init(
            preferredBlockSize: Int = 1024, cacheLifetime: TimeAmount = .seconds(247),
            maxCachedRepresentations: Int = 10_000
        ) {
            self.preferredBlockSize = CoAPBlockOption.blockSize(atMost: preferredBlockSize)
            self.cacheLifetime = cacheLifetime
            self.maxCachedRepresentations = maxCachedRepresentations
        }
    }

    private struct Representation: Sendable {
        var response: CoAPMessage
        var deadline: NIODeadline
        var generation: UInt64
    }

    /// The configuration.
    public var configuration: Configuration
    private var cache: [CoAPBlockTransferKey<Peer>: Representation] = [:]
    private var expiry = CoAPBlockExpiryQueue<CoAPBlockTransferKey<Peer>>()
    private var generation: UInt64 = 0

    /// Creates a responder.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The number of cached representations.
    public var count: Int { cache.count }

    /// When the next cached representation may expire (`nil` when none is cached).
    public var nextExpiry: NIODeadline? { expiry.earliest }

    /// Answers a request for a later block (Block2 NUM > 0) from the cache, before calling any handler.
    ///
    /// Returns `nil` when the handler must produce the representation (then pass its response to
    /// `response(_:for:to:now:)`). A malformed Block2 option is answered here (4.00 or 4.02).
    public mutating func cachedResponse(for request: CoAPMessage, from peer: Peer, now: NIODeadline) -> CoAPMessage? {
        let block: CoAPBlockOption?
        do {
            block = try request.block2()
        } catch {
            return CoAPBlock1Reassembler<Peer>.reply(to: request, code: error.responseCode)
        }
        guard let block, block.number > 0 else { return nil }
        let key = CoAPBlockTransferKey(peer: peer, request: CoAPBlockRequestKey(request))
        guard var representation = cache[key] else { return nil }
        representation.deadline = now + configuration.cacheLifetime
        cache[key] = representation
        return slice(representation.response, block: block, for: request, key: key, now: now)
    }

    /// Turns the handler's full `response` to `request` into the block the request asks for (or the first block
    /// when the body exceeds the preferred block size); a response that fits is returned unchanged.
    ///
    /// `response` must already carry the request's token and message ID and the right type.
    public mutating func response(
        _ response: CoAPMessage, for request: CoAPMessage, to peer: Peer, now: NIODeadline
    ) -> CoAPMessage {
        let block: CoAPBlockOption?
        do {
            block = try request.block2()
        } catch {
            return CoAPBlock1Reassembler<Peer>.reply(to: request, code: error.responseCode)
        }
        let length = response.payload.readableBytes
        let size = Swift.min(block?.size ?? configuration.preferredBlockSize, configuration.preferredBlockSize)
        guard response.code.isSuccess, block != nil || length > size else { return response }
        var full = response
        if full.option(.eTag) == nil && length > size {
            full.eTag = Self.digest(full.payload)
        }
        let requested = block ?? (try! CoAPBlockOption(number: 0, more: false, size: size))
        let key = CoAPBlockTransferKey(peer: peer, request: CoAPBlockRequestKey(request))
        return slice(full, block: requested, for: request, key: key, now: now)
    }

    /// Drops the cached representations whose lifetime has passed; returns how many.
    @discardableResult
    public mutating func expire(now: NIODeadline) -> Int {
        let cache = self.cache
        let keys = expiry.popDue(now: now) { key, generation in
            guard let r = cache[key], r.generation == generation else { return nil }
            return r.deadline
        }
        for key in keys { self.cache[key] = nil }
        return keys.count
    }

    /// Forgets every cached representation for `peer`. O(n) in the number cached.
    public mutating func removeAll(peer: Peer) {
        cache = cache.filter { $0.key.peer != peer }
    }

    // MARK: Slicing

    private mutating func slice(
        _ full: CoAPMessage, block requested: CoAPBlockOption, for request: CoAPMessage,
        key: CoAPBlockTransferKey<Peer>, now: NIODeadline
    ) -> CoAPMessage {
        let length = full.payload.readableBytes
        let szx = Swift.min(requested.szx, CoAPBlockOption.szx(forSize: configuration.preferredBlockSize)!)
        let size = 16 << Int(szx)
        let offset = requested.offset
        guard offset < length || offset == 0 else {
            return CoAPBlock1Reassembler<Peer>.reply(to: request, code: .badOption)
        }
        let end = Swift.min(offset + size, length)
        let more = end < length
        var reply = full
        reply.type = request.type == .confirmable ? .acknowledgement : .nonConfirmable
        reply.messageID = request.messageID
        reply.token = request.token
        reply.payload = full.payload.getSlice(at: full.payload.readerIndex + offset, length: end - offset)!
        let number = UInt32(offset / size)
        reply.setBlock2(try? CoAPBlockOption(number: number, more: more, szx: szx))
        if request.size2 != nil || number == 0 {
            reply.size2 = UInt32(clamping: length)
        } else {
            reply.removeOptions(.size2)
        }
        if more {
            if cache[key] == nil {
                if cache.count >= configuration.maxCachedRepresentations { return reply }
                generation &+= 1
                let deadline = now + configuration.cacheLifetime
                var stored = full
                stored.setBlock2(nil)
                cache[key] = Representation(response: stored, deadline: deadline, generation: generation)
                expiry.schedule(key, generation: generation, at: deadline)
            } else if number == 0 {
                // A new request for block 0 restarts the transfer with the handler's fresh representation.
                cache[key]!.response = full
                cache[key]!.deadline = now + configuration.cacheLifetime
            }
        } else {
            cache[key] = nil
        }
        return reply
    }

    /// A 64-bit FNV-1a digest of the body, as an 8-byte ETag.
    static func digest(_ body: ByteBuffer) -> [UInt8] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        body.withUnsafeReadableBytes { bytes in
            for b in bytes {
                hash ^= UInt64(b)
                hash &*= 0x0000_0100_0000_01B3
            }
        }
        return (0..<8).map { UInt8(truncatingIfNeeded: hash >> (56 - 8 * UInt64($0))) }
    }
}
