// Runs N DTLS handshakes (connect + close) over loopback UDP between a DTLSServerTransport on its own event loop
// thread and DTLSClientTransports on another, and prints the server thread's CPU time per handshake (socket I/O
// and the kernel's work for its system calls included; p0 / p50 / p90 over samples of one handshake, or of
// CONCURRENCY x 4 handshakes with several clients, and the mean) and handshakes per second. For system calls per
// handshake, trace every thread into its own file and count the server thread's file only:
//
//   strace -f -ff -o trace .build/release/DTLSLoopbackProfile psk 1000   # prints PID/task/TID of the server
//
// and for instructions (valgrind 3.19 cannot read Swift's DWARF 5: run a copy without debug info)
//
//   valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=cg.out /tmp/copy psk 200
//
// where `cg.out-NN` of the server thread (the one with the most `sendmsg` calls) has its instructions.
//
// Kinds: `psk`, `resume`, `cert DIR` (DIR holds ca.pem, server.pem, server.key). `CONCURRENCY=16` in the
// environment runs 16 clients at once. `SERVE_ONLY=1` only serves (`psk` or `cert`) until killed and prints the port
// and the server thread's `schedstat` path, so that another program's clients (e.g. plain C OpenSSL clients) can
// handshake with it and read its CPU time. `RAW_SERVER=1` serves the same way with the engine behind a plain socket
// loop instead of `DTLSServerTransport` (see `rawServer`).

import DTLSTransport
import Foundation
import NIOCore
import NIOPosix

let arguments = CommandLine.arguments
let kind = arguments.count > 1 ? arguments[1] : "psk"
let count = arguments.count > 2 ? Int(arguments[2]) ?? 500 : 500
let pkiDirectory = arguments.count > 3 ? arguments[3] : "."
let serveOnly = ProcessInfo.processInfo.environment["SERVE_ONLY"] == "1"
let concurrency = max(1, Int(ProcessInfo.processInfo.environment["CONCURRENCY"] ?? "") ?? 1)
let key: [UInt8] = Array("benchmark-psk-key-0123456789".utf8)

func read(_ name: String) -> String {
    guard let text = try? String(contentsOfFile: "\(pkiDirectory)/\(name)", encoding: .utf8) else {
        fatalError("cannot read \(pkiDirectory)/\(name)")
    }
    return text
}

let serverConfiguration: DTLSConfiguration
let clientConfiguration: DTLSConfiguration
switch kind {
case "psk", "resume":
    serverConfiguration = .server(psk: DTLSStaticPSKStore(["bench": key]))
    clientConfiguration = .client(pskIdentity: "bench", key: key)
case "cert":
    serverConfiguration = DTLSConfiguration(certificates: DTLSCertificateConfiguration(
        certificateChainPEM: read("server.pem"), privateKeyPEM: read("server.key"), requirePeerCertificate: false))
    clientConfiguration = DTLSConfiguration(certificates: DTLSCertificateConfiguration(trustAnchorsPEM: read("ca.pem")))
default:
    fatalError("kind: psk | resume | cert DIR")
}

/// `RAW_SERVER=1`: the same engine behind a plain socket loop on its own thread, without NIO (blocking `recvfrom`,
/// `sendto` straight from the engine's output, the peer's `SocketAddress` made once per address, timers run when
/// the socket is idle for 50 ms), as a C server is written: what a server loop outside NIO would cost. IPv4
/// loopback only, no plaintext delivery; serves like `SERVE_ONLY=1` until killed.
func rawServer(configuration: DTLSConfiguration) -> Never {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
        }
    }
    precondition(fd >= 0 && bound, "cannot bind 127.0.0.1:0")
    var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let port = UInt16(bigEndian: address.sin_port)
    let thread = Thread {
        let engine = try! DTLSServerEngine(configuration: configuration)
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? "?"
        FileHandle.standardOutput.write(Data("serving 127.0.0.1:\(port) schedstat /proc/\(me)/schedstat\n".utf8))
        var buffer = [UInt8](repeating: 0, count: 2048)
        var peers: [UInt64: SocketAddress] = [:]
        func send(_ outputs: [DTLSServerEngine.Output]) {
            for case .datagram(let bytes, let peer) in outputs {
                peer.withSockAddr { socketAddress, socketAddressLength in
                    bytes.withUnsafeReadableBytes { payload in
                        _ = sendto(fd, payload.baseAddress, payload.count, 0, socketAddress, socklen_t(socketAddressLength))
                    }
                }
            }
        }
        while true {
            var from = sockaddr_in()
            var fromLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &from) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                        recvfrom(fd, bytes.baseAddress, bytes.count, 0, raw, &fromLength)
                    }
                }
            }
            guard count > 0 else {
                send(engine.handleTimers(now: .now()))
                continue
            }
            let key = UInt64(from.sin_addr.s_addr) << 16 | UInt64(from.sin_port)
            let peer: SocketAddress
            if let known = peers[key] {
                peer = known
            } else {
                peer = SocketAddress(from)
                peers[key] = peer
            }
            send(engine.receive(ByteBuffer(bytes: buffer[0..<count]), from: peer, now: .now()))
        }
    }
    thread.start()
    while true { sleep(3600) }
}

/// The work runs in a task while the main thread waits on a semaphore: with an `async` top level the main thread
/// would park in `sigsuspend` (libdispatch), which valgrind 3.19 cannot run.
func measure() async throws {
    let serverLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let clientLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let server = try await DTLSServerTransport.bind(
        host: "127.0.0.1", port: 0, configuration: serverConfiguration, group: serverLoop)
    let address = try SocketAddress(ipAddress: "127.0.0.1", port: server.localAddress.port!)
    let cache = kind == "resume" ? DTLSClientSessionCache() : nil

    // `/proc/thread-self` links to `PID/task/TID` (`gettid` is not imported into Swift). The kernel's run time of
    // the server thread (`schedstat`, first field, ns) is read without waking that thread.
    let serverThread = try await serverLoop.next().submit {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? "?"
    }.get()
    if serveOnly {
        // Clients of another program (e.g. plain C OpenSSL clients) handshake with this server; they read its CPU
        // time from the printed schedstat path. Runs until killed.
        FileHandle.standardOutput.write(
            Data("serving 127.0.0.1:\(address.port!) schedstat /proc/\(serverThread)/schedstat\n".utf8))
        try await Task.sleep(for: .seconds(86_400))
    }
    func serverCPU() -> Int64 {
        let text = (try? String(contentsOfFile: "/proc/\(serverThread)/schedstat", encoding: .utf8)) ?? ""
        return Int64(text.split(separator: " ").first ?? "") ?? 0
    }

    for _ in 0..<5 {  // warm-up (and the session to resume)
        await (try DTLSClientTransport.connect(
            to: address, configuration: clientConfiguration, sessionCache: cache, group: clientLoop)).close()
    }
    print("server thread id \(serverThread)")
    // One sample is one handshake when one client runs at a time, and CONCURRENCY x 4 handshakes (each client doing
    // 4 connect + close in a row) with several clients, as the benchmarks' loopback rows take them. Every handshake
    // must complete (and resume, for `resume`). After each sample with several clients, a no-op task on the server
    // loop returns once the server handled every datagram already sent to it (the last close_notify included);
    // its wake-up is counted too.
    let perClient = concurrency == 1 ? 1 : 4
    let perSample = concurrency * perClient
    var samples: [Int64] = []
    let before = serverCPU()
    let wallStart = Date()
    for _ in 0..<max(1, count / perSample) {
        let sampleStart = serverCPU()
        let completed = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    for _ in 0..<perClient {
                        let client = try await DTLSClientTransport.connect(
                            to: address, configuration: clientConfiguration, sessionCache: cache, group: clientLoop)
                        precondition(client.resumedSession == (kind == "resume"))
                        await client.close()
                    }
                    return perClient
                }
            }
            return try await group.reduce(0, +)
        }
        precondition(completed == perSample)
        if concurrency > 1 { try await serverLoop.next().submit {}.get() }
        samples.append(serverCPU() - sampleStart)
    }
    try await serverLoop.next().submit {}.get()
    let after = serverCPU()
    let seconds = Date().timeIntervalSince(wallStart)
    let completed = samples.count * perSample
    samples.sort()
    func micros(_ nanoseconds: Int64) -> String {
        String(format: "%.1f", Double(nanoseconds) / 1000 / Double(perSample))
    }
    print("\(kind): \(completed) handshakes over loopback (\(concurrency) at once), server CPU per handshake us "
        + "p0 \(micros(samples[0])) p50 \(micros(samples[samples.count / 2])) "
        + "p90 \(micros(samples[samples.count * 9 / 10])), mean "
        + "\(String(format: "%.1f", Double(after - before) / 1000 / Double(completed))), "
        + "\(Int(Double(completed) / seconds)) handshakes/s")
    await server.close()
    try await serverLoop.shutdownGracefully()
    try await clientLoop.shutdownGracefully()
}

if ProcessInfo.processInfo.environment["RAW_SERVER"] == "1" {
    rawServer(configuration: serverConfiguration)
}
let done = DispatchSemaphore(value: 0)
Task.detached {
    do { try await measure() } catch { fatalError("\(error)") }
    done.signal()
}
done.wait()
