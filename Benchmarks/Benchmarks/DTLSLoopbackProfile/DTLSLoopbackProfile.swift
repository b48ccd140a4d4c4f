// Runs N DTLS handshakes (connect + close) over loopback UDP between a DTLSServerTransport (on its own thread,
// named `dtls-srv PORT`) and DTLSClientTransports on an event loop thread, and prints the server thread's CPU
// time per handshake (socket I/O and the kernel's work for its system calls included; p0 / p50 / p90 over samples
// of one handshake, or of CONCURRENCY x 4 handshakes with several clients, and the mean) and handshakes per
// second. For system calls per
// handshake, trace every thread into its own file and count the server thread's file only:
//
//   strace -f -ff -o trace .build/release/DTLSLoopbackProfile psk 1000   # prints PID/task/TID of the server
//
// and for instructions (valgrind 3.19 cannot read Swift's DWARF 5: run a copy without debug info)
//
//   valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=cg.out /tmp/copy psk 200
//
// where `cg.out-NN` of the server thread (the one running `DTLSServerSocketLoop.run`) has its instructions.
//
// Kinds: `psk`, `resume`, `cert DIR` (DIR holds ca.pem, server.pem, server.key). `CONCURRENCY=16` in the
// environment runs 16 clients at once. `SERVE_ONLY=1` only serves (`psk` or `cert`) until killed and prints the port
// and the server thread's `schedstat` path, so that another program's clients (e.g. plain C OpenSSL clients) can
// handshake with it and read its CPU time.

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

/// The work runs in a task while the main thread waits on a semaphore: with an `async` top level the main thread
/// would park in `sigsuspend` (libdispatch), which valgrind 3.19 cannot run.
func measure() async throws {
    let clientLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let server = try await DTLSServerTransport.bind(host: "127.0.0.1", port: 0, configuration: serverConfiguration)
    let address = try SocketAddress(ipAddress: "127.0.0.1", port: server.localAddress.port!)
    let cache = kind == "resume" ? DTLSClientSessionCache() : nil

    // The server's thread is named `dtls-srv PORT`. The kernel's run time of that thread (`schedstat`, first field,
    // ns) is read without waking it.
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    guard let task = tasks.first(where: { task in
        let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
        return comm?.trimmingCharacters(in: .whitespacesAndNewlines) == "dtls-srv \(address.port!)"
    }) else { fatalError("no server thread") }
    let serverThread = "\(getpid())/task/\(task)"
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
    /// The server's run time once it stays the same for 2 ms (every datagram already sent to it handled).
    func settledServerCPU() async throws -> Int64 {
        var last = serverCPU()
        while true {
            try await Task.sleep(for: .milliseconds(2))
            let now = serverCPU()
            if now == last { return now }
            last = now
        }
    }

    for _ in 0..<5 {  // warm-up (and the session to resume)
        await (try DTLSClientTransport.connect(
            to: address, configuration: clientConfiguration, sessionCache: cache, group: clientLoop)).close()
    }
    print("server thread id \(serverThread)")
    // One sample is one handshake when one client runs at a time, and CONCURRENCY x 4 handshakes (each client doing
    // 4 connect + close in a row) with several clients, as the benchmarks' loopback rows take them. Every handshake
    // must complete (and resume, for `resume`). After each sample with several clients, the server's run time is
    // read once it has handled every datagram already sent to it (the last close_notify included).
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
        samples.append((concurrency > 1 ? try await settledServerCPU() : serverCPU()) - sampleStart)
    }
    let seconds = Date().timeIntervalSince(wallStart)
    let after = try await settledServerCPU()
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
    try await clientLoop.shutdownGracefully()
}

let done = DispatchSemaphore(value: 0)
Task.detached {
    do { try await measure() } catch { fatalError("\(error)") }
    done.signal()
}
done.wait()
