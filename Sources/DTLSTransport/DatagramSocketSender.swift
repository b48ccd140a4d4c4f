internal import COpenSSL
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Sends datagrams with plain system calls on the UDP socket a NIO `DatagramChannel` reads from.
///
/// NIO's write path (an `AddressedEnvelope` through the pipeline, its pending-write queue, a flush, `sendmsg`
/// through its socket wrappers) cost the DTLS server about 6 k instructions per datagram, a fifth of everything it
/// did besides DTLS. This sender does the same system calls (`sendto` for one datagram, `sendmmsg` for several)
/// from preallocated message headers. NIO still owns the socket, its readiness and every read; only the sends of
/// the server handler, on the channel's event loop, come here.
///
/// Not thread-safe: used from the channel's event loop only, and only while the channel is active (NIO closes the
/// descriptor when the channel closes; the handler checks `isActive` before every call).
final class DatagramSocketSender {
    /// How many datagrams one `sendmmsg` carries at most.
    static let batchLimit = 16

    /// The socket (owned by the NIO channel, never closed here).
    let descriptor: CInt
    /// The largest datagram a batch slot holds; a longer one is sent on its own with `sendto`.
    let slotSize: Int
    private let slab: UnsafeMutableRawPointer
    private let names: UnsafeMutablePointer<sockaddr_storage>
    private let vectors: UnsafeMutablePointer<iovec>
    #if os(Linux)
    private let messages: UnsafeMutablePointer<lwm2m_mmsghdr>
    #endif

    init(descriptor: CInt, slotSize: Int) {
        self.descriptor = descriptor
        self.slotSize = slotSize
        let limit = DatagramSocketSender.batchLimit
        slab = .allocate(byteCount: limit * slotSize, alignment: 16)
        names = .allocate(capacity: limit)
        names.initialize(repeating: sockaddr_storage(), count: limit)
        vectors = .allocate(capacity: limit)
        vectors.initialize(repeating: iovec(), count: limit)
        #if os(Linux)
        messages = .allocate(capacity: limit)
        messages.initialize(repeating: lwm2m_mmsghdr(), count: limit)
        #endif
    }

    deinit {
        slab.deallocate()
        names.deallocate()
        vectors.deallocate()
        #if os(Linux)
        messages.deallocate()
        #endif
    }

    /// Sends `datagrams` in order and returns how many were dealt with: sent, or dropped because the kernel refused
    /// that one datagram (reported to `refused` with `errno`). Fewer than all are dealt with only when the socket's
    /// send buffer is full (`EAGAIN`, `ENOBUFS`): the caller queues the rest elsewhere.
    func send(_ datagrams: [(ByteBuffer, SocketAddress)], refused: (SocketAddress, CInt) -> Void) -> Int {
        var index = 0
        while index < datagrams.count {
            let sent: Int
            #if os(Linux)
            if datagrams.count - index > 1 && datagrams[index].0.readableBytes <= slotSize {
                sent = sendBatch(datagrams, from: index)
            } else {
                sent = sendOne(datagrams[index].0, to: datagrams[index].1)
            }
            #else
            sent = sendOne(datagrams[index].0, to: datagrams[index].1)
            #endif
            if sent > 0 {
                index += sent
                continue
            }
            let error = errno
            switch error {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK, ENOBUFS:
                return index
            default:
                refused(datagrams[index].1, error)  // this datagram only (e.g. no route, ICMP error pending)
                index += 1
            }
        }
        return index
    }

    /// Sends one datagram straight from its buffer; 1 when sent, else `errno` says why.
    private func sendOne(_ bytes: ByteBuffer, to peer: SocketAddress) -> Int {
        let nameLength = DatagramSocketSender.copy(peer, to: names)
        guard nameLength > 0 else {
            errno = EAFNOSUPPORT
            return -1
        }
        let result = bytes.withUnsafeReadableBytes { payload in
            names.withMemoryRebound(to: sockaddr.self, capacity: 1) { name in
                sendto(descriptor, payload.baseAddress, payload.count, 0, name, nameLength)
            }
        }
        return result < 0 ? -1 : 1
    }

    #if os(Linux)
    /// Copies up to ``batchLimit`` datagrams from `start` that fit a slot into the slab and sends them with one
    /// `sendmmsg`; returns how many the kernel took (-1 with `errno` when it took none).
    private func sendBatch(_ datagrams: [(ByteBuffer, SocketAddress)], from start: Int) -> Int {
        var count = 0
        while count < DatagramSocketSender.batchLimit, start + count < datagrams.count {
            let (bytes, peer) = datagrams[start + count]
            guard bytes.readableBytes <= slotSize else { break }
            let nameLength = DatagramSocketSender.copy(peer, to: names + count)
            guard nameLength > 0 else { break }  // sent alone next, which reports it
            let slot = slab + count * slotSize
            bytes.withUnsafeReadableBytes { payload in
                if let base = payload.baseAddress { slot.copyMemory(from: base, byteCount: payload.count) }
            }
            vectors[count] = iovec(iov_base: slot, iov_len: bytes.readableBytes)
            messages[count].msg_hdr = msghdr(
                msg_name: UnsafeMutableRawPointer(names + count), msg_namelen: nameLength,
                msg_iov: vectors + count, msg_iovlen: 1, msg_control: nil, msg_controllen: 0, msg_flags: 0)
            messages[count].msg_len = 0
            count += 1
        }
        guard count > 1 else {
            return sendOne(datagrams[start].0, to: datagrams[start].1)
        }
        return Int(lwm2m_sendmmsg(descriptor, messages, UInt32(count), 0))
    }
    #endif

    /// Writes `peer` as a `sockaddr` into `storage`; returns its length (0 for an address that is not IP).
    private static func copy(_ peer: SocketAddress, to storage: UnsafeMutablePointer<sockaddr_storage>) -> socklen_t {
        switch peer {
        case .v4(let address):
            let raw = UnsafeMutableRawPointer(storage)
            raw.storeBytes(of: address.address, as: sockaddr_in.self)
            return socklen_t(MemoryLayout<sockaddr_in>.size)
        case .v6(let address):
            let raw = UnsafeMutableRawPointer(storage)
            raw.storeBytes(of: address.address, as: sockaddr_in6.self)
            return socklen_t(MemoryLayout<sockaddr_in6>.size)
        default:
            return 0
        }
    }

    /// Creates a non-blocking UDP socket bound to `address` (for `DatagramBootstrap.withBoundSocket`, which takes
    /// ownership of it). No `SO_REUSEADDR`: a port is held by one server alone.
    static func makeBoundSocket(_ address: SocketAddress) throws(DTLSError) -> CInt {
        #if os(Linux)
        let type = CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
        #else
        let type = SOCK_DGRAM
        #endif
        let descriptor = socket(CInt(address.protocol.rawValue), type, 0)
        guard descriptor >= 0 else {
            throw DTLSError(code: .io, reason: "cannot create a UDP socket (errno \(errno))")
        }
        #if !os(Linux)
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        #endif
        let result = address.withSockAddr { name, length in bind(descriptor, name, socklen_t(length)) }
        guard result == 0 else {
            let error = errno
            close(descriptor)
            let detail = error == EADDRINUSE ? ", address in use" : ""
            throw DTLSError(code: .io, reason: "cannot bind \(address) (errno \(error)\(detail))")
        }
        return descriptor
    }
}
