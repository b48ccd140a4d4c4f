/// What identifies "the same request" across the blocks of one block-wise transfer (RFC 7959 section 2.4):
/// the method and every option except the block-wise ones (Block1, Block2, Size1, Size2), Observe, ETag and
/// options that are not part of the cache key.
///
/// Two blocks of one upload or download carry the same key; a block with another path, query or
/// Content-Format does not continue the transfer.
public struct CoAPBlockRequestKey: Hashable, Sendable {
    /// The request method.
    public var method: CoAPCode
    /// The options that identify the request, in message order.
    public var options: [CoAPOption]

    /// The key of `request`.
    public init(_ request: CoAPMessage) {
        self.method = request.code
        self.options = request.options.filter { Self.isKeyOption($0.number) }
    }

    @inlinable static func isKeyOption(_ number: CoAPOptionNumber) -> Bool {
        switch number {
        case .block1, .block2, .size1, .size2, .observe, .eTag, .noResponse: return false
        default: return !number.isNoCacheKey
        }
    }
}

/// A block-wise transfer's identity on a server: the peer and the request key.
public struct CoAPBlockTransferKey<Peer: Hashable & Sendable>: Hashable, Sendable {
    /// Who is transferring.
    public var peer: Peer
    /// Which request (see `CoAPBlockRequestKey`).
    public var request: CoAPBlockRequestKey

    /// Creates a key.
    public init(peer: Peer, request: CoAPBlockRequestKey) {
        self.peer = peer
        self.request = request
    }
}
