internal import COpenSSL
import NIOCore

/// The Swift side of a custom OpenSSL BIO that carries one datagram per read, and packs the records OpenSSL writes
/// in one step into as few datagrams as the MTU allows.
///
/// OpenSSL never touches a socket: the engine puts one received datagram into ``inbound`` before calling into
/// OpenSSL, and takes the datagrams OpenSSL wrote from ``outbound`` afterwards. The MTU query is answered with the
/// configured datagram size so flights are fragmented into datagrams that fit the path.
final class DatagramBIO {
    /// The datagram OpenSSL reads next (consumed by one read).
    var inbound: ByteBuffer?
    /// The datagrams OpenSSL wrote since the engine last drained them.
    var outbound: [ByteBuffer] = []
    /// The largest datagram DTLS may write.
    var mtu: Int
    /// The peer's address in a canonical byte form (for cookies).
    var peerKey: [UInt8] = [] {
        didSet { verifiedCookie = nil }
    }
    /// The last cookie verified for ``peerKey``. OpenSSL checks the cookie of the ClientHello twice (in
    /// `DTLSv1_listen`, then again when the handshake processes the same ClientHello); the second check compares
    /// with this instead of computing the HMAC again. Cleared whenever ``peerKey`` changes.
    var verifiedCookie: (UInt64, UInt64)?
    /// Set when a read found no datagram (OpenSSL then reports WANT_READ).
    var readStarved = false
    /// Where new outgoing datagrams take their buffers from (the server engine's), if anywhere.
    var bufferPool: DatagramBufferPool?

    init(mtu: Int) {
        self.mtu = mtu
    }

    /// Forgets everything about the previous peer (before the connection is reused for another one).
    func reset(mtu: Int) {
        self.mtu = mtu
        inbound = nil
        outbound.removeAll()
        peerKey = []
        readStarved = false
    }

    /// Creates the OpenSSL BIO bound to this object. The BIO holds an unretained pointer: the owner of this object
    /// must outlive the BIO (``OpenSSLDTLSConnection`` frees the SSL, and so the BIO, in its `deinit`).
    func makeBIO() -> OpaquePointer? {
        guard let bio = BIO_new(DatagramBIO.method) else { return nil }
        BIO_set_data(bio, Unmanaged.passUnretained(self).toOpaque())
        BIO_set_init(bio, 1)
        return bio
    }

    static func from(_ bio: OpaquePointer?) -> DatagramBIO? {
        guard let bio, let data = BIO_get_data(bio) else { return nil }
        return Unmanaged<DatagramBIO>.fromOpaque(data).takeUnretainedValue()
    }

    /// The BIO method, created once. `nonisolated(unsafe)`: written once by the lazy global initializer (which
    /// Swift runs exactly once, thread-safely) and only read afterwards; OpenSSL treats the method as immutable.
    nonisolated(unsafe) static let method: OpaquePointer = {
        let type = lwm2m_BIO_get_new_index() | lwm2m_BIO_TYPE_SOURCE_SINK
        let method = BIO_meth_new(type, "swift-lwm2m datagram")!
        BIO_meth_set_write(method) { bio, data, length in
            guard let me = DatagramBIO.from(bio), let data, length >= 0 else { return -1 }
            lwm2m_BIO_clear_retry_flags(bio)
            let record = UnsafeRawBufferPointer(start: data, count: Int(length))
            // OpenSSL writes every record of a flight on its own; records written in one step share a datagram as
            // long as it stays within the MTU (RFC 6347 section 4.1.1 allows several records per datagram). A
            // ServerHello ... ServerHelloDone or ChangeCipherSpec + Finished flight then costs one datagram.
            if let last = me.outbound.indices.last, me.outbound[last].readableBytes + record.count <= me.mtu {
                me.outbound[last].writeBytes(record)
                return length
            }
            let capacity = max(record.count, me.mtu)
            var buffer = me.bufferPool?.take(capacity: capacity) ?? ByteBufferAllocator().buffer(capacity: capacity)
            buffer.writeBytes(record)
            me.outbound.append(buffer)
            return length
        }
        BIO_meth_set_read(method) { bio, data, length in
            guard let me = DatagramBIO.from(bio), let data, length >= 0 else { return -1 }
            lwm2m_BIO_clear_retry_flags(bio)
            guard let datagram = me.inbound else {
                me.readStarved = true
                lwm2m_BIO_set_retry_read(bio)
                return -1
            }
            me.inbound = nil
            // Datagram semantics: a datagram longer than the buffer is truncated, never split across reads.
            let count = min(Int(length), datagram.readableBytes)
            datagram.withUnsafeReadableBytes { bytes in
                UnsafeMutableRawPointer(data).copyMemory(from: bytes.baseAddress!, byteCount: count)
            }
            return Int32(count)
        }
        BIO_meth_set_ctrl(method) { bio, command, _, _ in
            guard let me = DatagramBIO.from(bio) else { return 0 }
            switch command {
            case lwm2m_BIO_CTRL_DGRAM_QUERY_MTU, lwm2m_BIO_CTRL_DGRAM_GET_FALLBACK_MTU, lwm2m_BIO_CTRL_DGRAM_GET_MTU:
                return me.mtu
            case lwm2m_BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
                return 0  // the MTU we report is already the UDP payload size
            case lwm2m_BIO_CTRL_FLUSH:
                return 1
            case lwm2m_BIO_CTRL_PUSH, lwm2m_BIO_CTRL_POP:
                return 0
            default:
                return 0
            }
        }
        BIO_meth_set_create(method) { _ in 1 }
        BIO_meth_set_destroy(method) { bio in
            BIO_set_data(bio, nil)
            BIO_set_init(bio, 0)
            return 1
        }
        return method
    }()
}
