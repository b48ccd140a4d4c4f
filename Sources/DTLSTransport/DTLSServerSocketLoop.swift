import CoAPCore
import Foundation
import Logging
import NIOCore

/// Serves one UDP socket for a ``DTLSServerEngine`` on a thread of its own, the way a plain C server does: the
/// thread waits in `poll` (socket, wake-up pipe, the engine's next deadline as the timeout), reads one datagram
/// with `recvfrom`, runs the engine and sends its answers with `sendto`; plaintext goes to the transport's
/// `inbound` stream. ``send(_:)`` and ``close()`` may be called from any thread: they run the engine under the
/// same lock and send directly.
///
/// `@unchecked Sendable`: `engine`, `closed`, `finished` and `closeWaiters` are only touched with `lock` held
/// (the engine is not thread-safe; every call into it, from the loop thread or from `send`/`close`, holds the
/// lock). The descriptors and the other stored properties are immutable after `init`; the loop thread alone
/// closes the descriptors, after `closed` is set and before `finished` is set. The continuation is Sendable.
final class DTLSServerSocketLoop: @unchecked Sendable {
    /// The bound address (with the real port when bound to port 0).
    let localAddress: SocketAddress
    private let socket: CInt
    private let wakeRead: CInt
    private let wakeWrite: CInt
    private let receiveSize: Int
    private let engine: DTLSServerEngine
    private let lock = NSLock()
    private var closed = false
    private var finished = false
    private var closeWaiters: [CheckedContinuation<Void, Never>] = []
    private let continuation: AsyncStream<CoAPDatagram>.Continuation
    private let logger: Logger

    /// Creates and binds the socket (without SO_REUSEADDR); throws ``DTLSError`` with code `.io` when the address
    /// cannot be bound.
    init(
        binding address: SocketAddress, engine: DTLSServerEngine, receiveSize: Int,
        continuation: AsyncStream<CoAPDatagram>.Continuation, logger: Logger
    ) throws {
        let family = address.protocol == .inet6 ? AF_INET6 : AF_INET
        let fd = Glibc.socket(family, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DTLSError(code: .io, reason: "socket(): \(Self.lastError())") }
        let bound = address.withSockAddr { pointer, length in Glibc.bind(fd, pointer, socklen_t(length)) }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = bound == 0 ? withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        } : -1
        guard bound == 0, named == 0, let local = Self.socketAddress(storage) else {
            let reason = Self.lastError()
            Glibc.close(fd)
            throw DTLSError(code: .io, reason: "cannot bind \(address): \(reason)")
        }
        var pipeEnds: [CInt] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else {
            let reason = Self.lastError()
            Glibc.close(fd)
            throw DTLSError(code: .io, reason: "pipe(): \(reason)")
        }
        for end in pipeEnds {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        self.socket = fd
        self.wakeRead = pipeEnds[0]
        self.wakeWrite = pipeEnds[1]
        self.localAddress = local
        self.receiveSize = receiveSize
        self.engine = engine
        self.continuation = continuation
        self.logger = logger
    }

    /// Starts the thread that serves the socket, named `dtls-srv PORT` (what `/proc/self/task/*/comm` shows, e.g.
    /// for benchmarks that read its CPU time); returns once the thread runs and carries its name.
    func start() {
        let name = "dtls-srv \(localAddress.port ?? 0)"
        let started = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            // The thread's name (at most 15 bytes: "dtls-srv 65535" fits), as `pthread_setname_np` would set it.
            let comm = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
            if comm >= 0 {
                _ = name.withCString { write(comm, $0, strlen($0)) }
                Glibc.close(comm)
            }
            started.signal()
            run()
        }
        thread.start()
        started.wait()
    }

    /// Encrypts `datagram` for its peer and sends it (dropped, with a debug log line, when the peer has no
    /// established association or the socket is closed).
    func send(_ datagram: CoAPDatagram) {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        switch engine.send(datagram.data, to: datagram.remote, now: .now()) {
        case .success(let outputs):
            perform(outputs)
        case .failure(let error):
            logger.debug("datagram not sent", metadata: ["peer": "\(datagram.remote)", "reason": "\(error.reason)"])
        }
    }

    /// Sends close_notify to every peer, stops the thread, closes the socket and finishes the inbound stream;
    /// returns once all of that happened.
    func close() async {
        if beginClose() { return }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            if !addCloseWaiter(waiter) { waiter.resume() }
        }
    }

    /// Marks the loop closed, sends close_notify to every peer and wakes the loop thread (once); true when the loop
    /// already finished. The wake-up is written with the lock held: the thread closes its descriptors only after
    /// it saw `closed` under the lock, so the descriptor cannot have been closed (and its number reused) yet.
    private func beginClose() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if !closed {
            closed = true
            perform(engine.shutdown())
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        }
        return finished
    }

    /// Keeps `waiter` for the end of the loop; false when it already ended.
    private func addCloseWaiter(_ waiter: CheckedContinuation<Void, Never>) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if finished { return false }
        closeWaiters.append(waiter)
        return true
    }

    private func run() {
        var buffer = [UInt8](repeating: 0, count: receiveSize)
        var descriptors = [
            pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        ]
        // Peer addresses seen lately (IPv4), so that a datagram does not build its `SocketAddress` (and the host
        // string) again; bounded, emptied when full.
        var peers: [UInt64: SocketAddress] = [:]
        while true {
            lock.lock()
            if closed {
                lock.unlock()
                break
            }
            let now = NIODeadline.now()
            var timeout: CInt = -1
            if let deadline = engine.nextDeadline(now: now) {
                if deadline <= now {
                    perform(engine.handleTimers(now: now))
                    lock.unlock()
                    continue
                }
                timeout = CInt(min((deadline - now).nanoseconds / 1_000_000 + 1, 60_000))
            }
            lock.unlock()
            guard poll(&descriptors, 2, timeout) > 0 else { continue }  // timeout or EINTR: timers, then wait again
            if descriptors[1].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 16)
                while read(wakeRead, &drain, drain.count) > 0 {}
            }
            guard descriptors[0].revents != 0 else { continue }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &storage) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(socket, bytes.baseAddress, bytes.count, CInt(MSG_DONTWAIT), $0, &length)
                    }
                }
            }
            guard count >= 0 else { continue }  // EAGAIN, or an error reported for an earlier send
            let peer: SocketAddress
            if let key = Self.key(storage), let known = peers[key] {
                peer = known
            } else {
                guard let address = Self.socketAddress(storage) else { continue }
                peer = address
                if let key = Self.key(storage) {
                    if peers.count >= 4096 { peers.removeAll(keepingCapacity: true) }
                    peers[key] = peer
                }
            }
            let datagram = ByteBuffer(bytes: buffer[0..<count])
            lock.lock()
            if !closed { perform(engine.receive(datagram, from: peer, now: .now())) }
            lock.unlock()
        }
        Glibc.close(socket)
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
        continuation.finish()
        lock.lock()
        finished = true
        let waiters = closeWaiters
        closeWaiters = []
        lock.unlock()
        for waiter in waiters { waiter.resume() }
    }

    /// Sends the engine's datagrams and delivers its plaintext. Called with `lock` held.
    private func perform(_ outputs: [DTLSServerEngine.Output]) {
        for output in outputs {
            switch output {
            case .datagram(let bytes, let peer):
                let sent = peer.withSockAddr { address, length in
                    bytes.withUnsafeReadableBytes { payload in
                        sendto(socket, payload.baseAddress, payload.count, CInt(MSG_DONTWAIT), address, socklen_t(length))
                    }
                }
                if sent < 0 {
                    logger.debug("datagram not sent", metadata: ["peer": "\(peer)", "reason": "\(Self.lastError())"])
                }
            case .plaintext(let bytes, let peer, let identity):
                continuation.yield(CoAPDatagram(remote: peer, data: bytes, peerIdentity: identity))
            case .established, .failed, .closed:
                break  // logged by the engine
            }
        }
    }

    /// An IPv4 peer's address and port as one number (nil for other families). Read from the raw bytes
    /// (`sockaddr_in`: family at 0, port at 2, address at 4).
    private static func key(_ storage: sockaddr_storage) -> UInt64? {
        withUnsafeBytes(of: storage) { raw in
            guard CInt(raw.load(as: UInt16.self)) == AF_INET else { return nil }
            return UInt64(raw.load(fromByteOffset: 4, as: UInt32.self)) << 16
                | UInt64(raw.load(fromByteOffset: 2, as: UInt16.self))
        }
    }

    private static func socketAddress(_ storage: sockaddr_storage) -> SocketAddress? {
        withUnsafeBytes(of: storage) { raw in
            switch CInt(raw.load(as: UInt16.self)) {
            case AF_INET: SocketAddress(raw.load(as: sockaddr_in.self))
            case AF_INET6: SocketAddress(raw.load(as: sockaddr_in6.self))
            default: nil
            }
        }
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
