import Benchmark
import DTLSTransport
import Foundation
import NIOCore
import NIOPosix

import CHeapInfo

// Test-only credentials generated at start-up; nothing here is a secret.

let pskKey: [UInt8] = Array("benchmark-psk-key-0123456789".utf8)
let serverAddress = try! SocketAddress(ipAddress: "10.1.1.1", port: 5684)

func clientAddress(_ index: Int) -> SocketAddress {
    try! SocketAddress(ipAddress: "10.\(index / 62_500 % 250).\(index / 250 % 250).\(index % 250 + 1)", port: 40_000 + index % 20_000)
}

/// A server engine and one client engine back to back, with a clock that only moves forward.
final class Pair {
    let server: DTLSServerEngine
    let client: DTLSClientEngine
    let address: SocketAddress
    var plaintextsAtServer = 0
    var plaintextsAtClient = 0
    /// CPU time spent inside the server engine (thread CPU clock: the wall clock lies on a loaded machine).
    var serverNanoseconds: Int64 = 0

    init(server: DTLSServerEngine, client: DTLSClientEngine, address: SocketAddress) {
        self.server = server
        self.client = client
        self.address = address
    }

    func run(_ clientOutput: [DTLSClientEngine.Output]) {
        var toServer: [ByteBuffer] = []
        var toClient: [ByteBuffer] = []
        collect(clientOutput, into: &toServer)
        while !toServer.isEmpty || !toClient.isEmpty {
            for datagram in toServer {
                let start = lwm2m_thread_cpu_nanoseconds()
                let outputs = server.receive(datagram, from: address, now: .now())
                serverNanoseconds += Int64(lwm2m_thread_cpu_nanoseconds() - start)
                for output in outputs {
                    switch output {
                    case .datagram(let bytes, _): toClient.append(bytes)
                    case .plaintext: plaintextsAtServer += 1
                    default: break
                    }
                }
            }
            toServer.removeAll()
            for datagram in toClient { collect(client.receive(datagram, now: .now()), into: &toServer) }
            toClient.removeAll()
        }
    }

    private func collect(_ outputs: [DTLSClientEngine.Output], into toServer: inout [ByteBuffer]) {
        for output in outputs {
            switch output {
            case .datagram(let bytes): toServer.append(bytes)
            case .plaintext: plaintextsAtClient += 1
            case .failed(let error): fatalError("handshake failed: \(error)")
            default: break
            }
        }
    }

    /// One full or resumed handshake followed by close_notify.
    func handshakeAndClose() {
        run(client.start(now: .now()))
        precondition(client.state == .established)
        run(client.close())
    }
}

struct PKI {
    let ca: String
    let serverCertificate: String
    let serverKey: String

    static func make() -> PKI {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dtls-bench-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func openssl(_ arguments: [String]) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["openssl"] + arguments
            process.currentDirectoryURL = directory
            process.standardError = FileHandle.nullDevice
            try! process.run()
            process.waitUntilExit()
            precondition(process.terminationStatus == 0, "openssl \(arguments.joined(separator: " ")) failed")
        }
        openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"])
        openssl(["req", "-x509", "-new", "-key", "ca.key", "-days", "2", "-subj", "/CN=bench CA", "-out", "ca.pem"])
        openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key"])
        openssl(["req", "-new", "-key", "server.key", "-subj", "/CN=localhost", "-out", "server.csr"])
        openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "2", "-out", "server.pem"])
        func read(_ name: String) -> String {
            try! String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        }
        return PKI(ca: read("ca.pem"), serverCertificate: read("server.pem"), serverKey: read("server.key"))
    }
}

func pskPair(resume: Bool) -> Pair {
    let server = try! DTLSServerEngine(configuration: .server(psk: DTLSStaticPSKStore(["bench": pskKey])))
    let client = try! DTLSClientEngine(
        configuration: .client(pskIdentity: "bench", key: pskKey), server: serverAddress,
        sessionCache: resume ? DTLSClientSessionCache() : nil)
    return Pair(server: server, client: client, address: clientAddress(1))
}

func certificatePair(_ pki: PKI) -> Pair {
    let server = try! DTLSServerEngine(configuration: DTLSConfiguration(certificates: DTLSCertificateConfiguration(
        certificateChainPEM: pki.serverCertificate, privateKeyPEM: pki.serverKey, requirePeerCertificate: false)))
    let client = try! DTLSClientEngine(
        configuration: DTLSConfiguration(certificates: DTLSCertificateConfiguration(trustAnchorsPEM: pki.ca)),
        server: serverAddress)
    return Pair(server: server, client: client, address: clientAddress(1))
}

/// The CPU time of one thread as the kernel accounts it (`/proc/self/task/TID/schedstat`, first field: ns on
/// the CPU), readable from any thread. Created on the thread to watch.
struct ServerThreadClock: Sendable {
    let path: String

    init() {
        let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? "self"
        path = "/proc/\(link)/schedstat"  // `/proc/PID/task/TID/schedstat`
    }

    func nanoseconds() -> Int64 {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let first = text.split(separator: " ").first, let value = Int64(first)
        else { fatalError("cannot read \(path)") }
        return value
    }
}

/// A DTLS server on loopback for a loopback row (`kind` names the flow), with what its clients need.
func loopbackServer(_ kind: String, _ pki: PKI, _ serverLoop: any EventLoopGroup) async throws -> (
    server: DTLSServerTransport, address: SocketAddress, client: DTLSConfiguration, cache: DTLSClientSessionCache?,
    resumed: Bool
) {
    let certificates = kind.hasPrefix("ECDHE")
    let serverConfiguration = certificates
        ? DTLSConfiguration(certificates: DTLSCertificateConfiguration(
            certificateChainPEM: pki.serverCertificate, privateKeyPEM: pki.serverKey, requirePeerCertificate: false))
        : .server(psk: DTLSStaticPSKStore(["bench": pskKey]))
    let server = try await DTLSServerTransport.bind(
        host: "127.0.0.1", port: 0, configuration: serverConfiguration, group: serverLoop)
    let address = try SocketAddress(ipAddress: "127.0.0.1", port: server.localAddress.port!)
    let resumed = kind.contains("resumed")
    let client = certificates
        ? DTLSConfiguration(certificates: DTLSCertificateConfiguration(trustAnchorsPEM: pki.ca))
        : DTLSConfiguration.client(pskIdentity: "bench", key: pskKey)
    return (server, address, client, resumed ? DTLSClientSessionCache() : nil, resumed)
}

/// Bytes OpenSSL currently holds (counted since start-up, see `lwm2m_openssl_count_allocations`).
func heapInUse() -> Int {
    Int(lwm2m_openssl_bytes_in_use())
}

/// Counting starts before any OpenSSL object exists (the first benchmark registration).
let countingOpenSSLAllocations = lwm2m_openssl_count_allocations() == 1

let serverMicros = BenchmarkMetric.custom("server-side CPU ns per handshake", polarity: .prefersSmaller, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    _ = countingOpenSSLAllocations
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 20,
        scalingFactor: .one,
        maxDuration: .seconds(2)
    )

    let handshakeMetrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .throughput, .mallocCountTotal, serverMicros]

    // The handshake rows keep one server and one client across samples, as a server does (so the server's reuse
    // of ended connections and its warm caches count); each sample is one handshake + close_notify.
    let pskFull = pskPair(resume: false)
    Benchmark("DTLS PSK-AES128-CCM8 full handshake (client + server, in memory)",
              configuration: .init(metrics: handshakeMetrics)) { benchmark in
        let pair = pskFull
        pair.serverNanoseconds = 0
        for _ in benchmark.scaledIterations { pair.handshakeAndClose() }
        benchmark.measurement(serverMicros, Int(pair.serverNanoseconds) / benchmark.scaledIterations.count)
    }

    let pskResumed = pskPair(resume: true)
    pskResumed.handshakeAndClose()  // the session to resume
    Benchmark("DTLS PSK resumed handshake (client + server, in memory)",
              configuration: .init(metrics: handshakeMetrics)) { benchmark in
        let pair = pskResumed
        pair.serverNanoseconds = 0
        for _ in benchmark.scaledIterations { pair.handshakeAndClose() }
        precondition(pair.client.lastHandshakeResumed)
        benchmark.measurement(serverMicros, Int(pair.serverNanoseconds) / benchmark.scaledIterations.count)
    }

    let pki = PKI.make()
    let ecdhe = certificatePair(pki)
    Benchmark("DTLS ECDHE-ECDSA-AES128-CCM8 P-256 full handshake (client + server, in memory)",
              configuration: .init(metrics: handshakeMetrics)) { benchmark in
        let pair = ecdhe
        pair.serverNanoseconds = 0
        for _ in benchmark.scaledIterations { pair.handshakeAndClose() }
        benchmark.measurement(serverMicros, Int(pair.serverNanoseconds) / benchmark.scaledIterations.count)
    }

    Benchmark("DTLS record protect + unprotect, 100-byte payload (PSK-AES128-CCM8)",
              configuration: .init(metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal], warmupIterations: 1000,
                                   scalingFactor: .kilo)) { benchmark in
        let pair = pskPair(resume: false)
        pair.run(pair.client.start(now: .now()))
        let payload = ByteBuffer(repeating: 0x5A, count: 100)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for output in pair.client.send(payload, now: .now()) {
                if case .datagram(let record) = output {
                    blackHole(pair.server.receive(record, from: pair.address, now: .now()))
                }
            }
        }
    }

    // Over loopback UDP the server runs on its own event loop thread; its CPU time (socket I/O and the kernel's
    // work for its system calls included) is read from the kernel's per-thread run time, before and after the
    // measured connects, without waking the server thread (a task submitted to read it would add a wake-up).
    let loopbackMetrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .throughput, serverMicros]
    for kind in ["PSK-AES128-CCM8 full", "PSK resumed", "ECDHE-ECDSA-AES128-CCM8 P-256 full"] {
        Benchmark("DTLS \(kind) handshake over loopback UDP (connect + close)",
                  configuration: .init(metrics: loopbackMetrics, warmupIterations: 5)) { benchmark in
            let serverLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let (server, address, configuration, cache, resumed) = try await loopbackServer(kind, pki, serverLoop)
            await (try DTLSClientTransport.connect(to: address, configuration: configuration, sessionCache: cache)).close()
            let serverThread = try await serverLoop.next().submit { ServerThreadClock() }.get()
            func serverCPU() async throws -> Int64 { serverThread.nanoseconds() }
            let before = try await serverCPU()
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let client = try await DTLSClientTransport.connect(to: address, configuration: configuration, sessionCache: cache)
                precondition(client.resumedSession == resumed)
                await client.close()
            }
            benchmark.stopMeasurement()
            let after = try await serverCPU()
            benchmark.measurement(serverMicros, Int(after - before) / benchmark.scaledIterations.count)
            await server.close()
            try await serverLoop.shutdownGracefully()
        }
    }

    // The same flows with 16 clients handshaking at once (each does 4 connect + close in a row, 64 handshakes per
    // sample), as a busy server sees them: one wake-up of the server thread reads several datagrams and its
    // answers leave in one flush. The clients run on their own event loop thread, so only the server thread's
    // run time is counted; every handshake must complete (and resume, for the resumed row) or the row traps.
    // After the last client closed, a no-op task on the server loop waits until the server has handled every
    // datagram already sent to it (its close_notify included); that wake-up is counted too.
    let handshakesPerSecond = BenchmarkMetric.custom(
        "handshakes per second", polarity: .prefersLarger, useScalingFactor: false)
    let concurrentMetrics: [BenchmarkMetric] = [.wallClock, serverMicros, handshakesPerSecond]
    let concurrentClients = 16
    let handshakesPerClient = 4
    for kind in ["PSK-AES128-CCM8 full", "PSK resumed", "ECDHE-ECDSA-AES128-CCM8 P-256 full"] {
        Benchmark("DTLS \(kind) handshake over loopback UDP, \(concurrentClients) clients at once (connect + close)",
                  configuration: .init(metrics: concurrentMetrics, warmupIterations: 1, maxDuration: .seconds(3))) { benchmark in
            let serverLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let clientLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let (server, address, configuration, cache, resumed) = try await loopbackServer(kind, pki, serverLoop)
            await (try DTLSClientTransport.connect(
                to: address, configuration: configuration, sessionCache: cache, group: clientLoop)).close()
            let serverThread = try await serverLoop.next().submit { ServerThreadClock() }.get()
            let before = serverThread.nanoseconds()
            let start = ContinuousClock.now
            benchmark.startMeasurement()
            let completed = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<concurrentClients {
                    group.addTask {
                        var done = 0
                        for _ in 0..<handshakesPerClient {
                            let client = try await DTLSClientTransport.connect(
                                to: address, configuration: configuration, sessionCache: cache, group: clientLoop)
                            precondition(client.resumedSession == resumed)
                            await client.close()
                            done += 1
                        }
                        return done
                    }
                }
                return try await group.reduce(0, +)
            }
            try await serverLoop.next().submit {}.get()
            benchmark.stopMeasurement()
            let elapsed = ContinuousClock.now - start
            let after = serverThread.nanoseconds()
            precondition(completed == concurrentClients * handshakesPerClient)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            benchmark.measurement(serverMicros, Int(after - before) / completed)
            benchmark.measurement(handshakesPerSecond, Int(Double(completed) / seconds))
            await server.close()
            try await serverLoop.shutdownGracefully()
            try await clientLoop.shutdownGracefully()
        }
    }

    let memoryMetrics: [BenchmarkMetric] = [
        .custom("OpenSSL bytes per active peer (server)", useScalingFactor: false),
        .custom("OpenSSL bytes per idle peer (server, saved session)", useScalingFactor: false),
    ]
    Benchmark("DTLS server memory per peer (1000 PSK peers)",
              configuration: .init(metrics: memoryMetrics, warmupIterations: 0, maxIterations: 1)) { benchmark in
        precondition(countingOpenSSLAllocations, "OpenSSL allocated before counting started")
        let peers = 1000
        var server: DTLSServerEngine? = try! DTLSServerEngine(
            configuration: .server(psk: DTLSStaticPSKStore(["bench": pskKey])))
        var pairs: [Pair] = (0..<peers).map { index in
            let client = try! DTLSClientEngine(configuration: .client(pskIdentity: "bench", key: pskKey), server: serverAddress)
            return Pair(server: server!, client: client, address: clientAddress(index))
        }
        for pair in pairs { pair.run(pair.client.start(now: .now())) }
        precondition(server!.liveConnections == peers)
        let withLiveConnections = heapInUse()
        _ = server!.shutdown()  // close into saved sessions (the clients keep their state)
        let withSavedSessions = heapInUse()
        pairs.removeAll()
        let withoutClients = heapInUse()
        server = nil
        let empty = heapInUse()
        benchmark.measurement(memoryMetrics[0], (withLiveConnections - withSavedSessions) / peers)
        benchmark.measurement(memoryMetrics[1], (withoutClients - empty) / peers)
    }
}
