import NIOCore

/// Buffers of sent datagrams, kept for the next datagrams OpenSSL writes, so a server does not allocate and free one
/// buffer per outgoing datagram.
///
/// Used on one thread at a time (the server engine's). A buffer given back may still be referenced elsewhere (e.g.
/// by NIO's write queue): `ByteBuffer` copies on write, so reusing it never changes bytes someone else holds; it only
/// saves the allocation when the pool holds the last reference.
final class DatagramBufferPool {
    private var buffers: [ByteBuffer] = []
    /// At most this many buffers are kept.
    static let limit = 16
    /// Larger buffers (a datagram of a large record) are not kept, so the pool holds at most `limit` of these.
    static let largestKeptCapacity = 4096

    init() {
        buffers.reserveCapacity(DatagramBufferPool.limit)
    }

    /// Buffers waiting for reuse.
    var count: Int { buffers.count }

    /// An empty buffer with room for at least `capacity` bytes: a kept one when there is one.
    func take(capacity: Int) -> ByteBuffer {
        guard var buffer = buffers.popLast() else { return ByteBufferAllocator().buffer(capacity: capacity) }
        buffer.clear(minimumCapacity: capacity)
        return buffer
    }

    /// Keeps `buffer` for a later ``take(capacity:)`` (unless the pool is full or the buffer is large).
    func give(_ buffer: ByteBuffer) {
        guard buffers.count < DatagramBufferPool.limit, buffer.capacity <= DatagramBufferPool.largestKeptCapacity
        else { return }
        buffers.append(buffer)
    }
}
