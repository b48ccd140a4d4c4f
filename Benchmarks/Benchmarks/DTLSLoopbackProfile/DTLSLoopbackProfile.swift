// Runs N DTLS handshakes (connect + close) over loopback UDP between a DTLSServerTransport on its own event loop
// thread and DTLSClientTransports on another, and prints the server thread's CPU time per handshake (socket I/O
// and the kernel's work for its system calls included) and handshakes per second. For system calls per
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
// environment runs 16 clients at once.

import DTLSTransport
import Foundation
import NIOCore
import NIOPosix

let arguments = CommandLine.arguments
let kind = arguments.count > 1 ? arguments[1] : "psk"
let count = arguments.count > 2 ? Int(arguments[2]) ?? 500 : 500
let pkiDirectory = arguments.count > 3 ? arguments[3] : "."
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
    func serverCPU() -> Int64 {
        let text = (try? String(contentsOfFile: "/proc/\(serverThread)/schedstat", encoding: .utf8)) ?? ""
        return Int64(text.split(separator: " ").first ?? "") ?? 0
    }

    for _ in 0..<5 {  // warm-up (and the session to resume)
        await (try DTLSClientTransport.connect(
            to: address, configuration: clientConfiguration, sessionCache: cache, group: clientLoop)).close()
    }
    print("server thread id \(serverThread)")
    let before = serverCPU()
    let wallStart = Date()
    // CONCURRENCY=N runs N clients at once (each doing count / N handshakes in a row), as a busy server sees them.
    // Every handshake must complete (and resume, for `resume`); the count printed is the count completed.
    let completed = try await withThrowingTaskGroup(of: Int.self) { group in
        for client in 0..<concurrency {
            group.addTask {
                var done = 0
                for _ in 0..<(count / concurrency + (client < count % concurrency ? 1 : 0)) {
                    let client = try await DTLSClientTransport.connect(
                        to: address, configuration: clientConfiguration, sessionCache: cache, group: clientLoop)
                    precondition(client.resumedSession == (kind == "resume"))
                    await client.close()
                    done += 1
                }
                return done
            }
        }
        return try await group.reduce(0, +)
    }
    // A no-op task on the server loop returns once the server handled every datagram already sent to it (the
    // last close_notify included); its wake-up is counted too.
    try await serverLoop.next().submit {}.get()
    let after = serverCPU()
    let seconds = Date().timeIntervalSince(wallStart)
    precondition(completed == count)
    print("\(kind): \(completed) handshakes over loopback (\(concurrency) at once), server CPU "
        + "\(Double((after - before) / Int64(completed)) / 1000) us per handshake, "
        + "\(Int(Double(completed) / seconds)) handshakes/s")
    await server.close()
    try await serverLoop.shutdownGracefully()
    try await clientLoop.shutdownGracefully()
}

let done = DispatchSemaphore(value: 0)
Task.detached {
    do { try await measure() } catch { fatalError("\(error)") }
    done.signal()
}
done.wait()
