// Runs one kind of DTLS work N times, back to back in memory, for instruction counts:
//
//   valgrind --tool=callgrind --toggle-collect='*profiledServerStep*' .build/release/DTLSProfile psk 200
//
// counts only what the server engine executes (`Collected` / N = instructions per handshake; one handshake before
// the N is not counted). Kinds: `psk`,
// `resume`, `cert DIR` (DIR holds ca.pem, server.pem, server.key), `record` (protect + unprotect of 100 bytes;
// toggle `*profiledRecord*` for both ends), `client-engine` (creating client engines of one configuration; toggle
// `*profiledClientEngine*`: after a warm-up, the first pays for its `SSL_CTX`, later ones share it). Without valgrind it prints the
// CPU time per operation.

import DTLSTransport
import Foundation
import NIOCore

let arguments = CommandLine.arguments
let kind = arguments.count > 1 ? arguments[1] : "psk"
let count = arguments.count > 2 ? Int(arguments[2]) ?? 200 : 200
let pkiDirectory = arguments.count > 3 ? arguments[3] : "."

let key: [UInt8] = Array("benchmark-psk-key-0123456789".utf8)
let serverAddress = try! SocketAddress(ipAddress: "10.1.1.1", port: 5684)
let clientAddress = try! SocketAddress(ipAddress: "10.2.2.2", port: 40_000)

func threadCPUNanoseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}

/// `nonisolated(unsafe)`: this program has one thread.
nonisolated(unsafe) var serverNanoseconds: Int64 = 0

@inline(never)
func profiledServerStep(_ server: DTLSServerEngine, _ datagram: ByteBuffer) -> [DTLSServerEngine.Output] {
    server.receive(datagram, from: clientAddress, now: .now())
}

/// Whether server steps are counted (off for the warm-up handshake, which pays one-time costs such as seeding
/// OpenSSL's random generators and filling its algorithm caches).
nonisolated(unsafe) var counting = true

/// Exchanges datagrams until both sides are quiet.
func run(_ server: DTLSServerEngine, _ client: DTLSClientEngine, _ first: [DTLSClientEngine.Output]) {
    var toServer: [ByteBuffer] = []
    func collect(_ outputs: [DTLSClientEngine.Output]) {
        for output in outputs {
            switch output {
            case .datagram(let bytes): toServer.append(bytes)
            case .failed(let error): fatalError("handshake failed: \(error)")
            default: break
            }
        }
    }
    collect(first)
    while !toServer.isEmpty {
        var toClient: [ByteBuffer] = []
        for datagram in toServer {
            let start = threadCPUNanoseconds()
            let outputs = counting
                ? profiledServerStep(server, datagram) : server.receive(datagram, from: clientAddress, now: .now())
            serverNanoseconds += threadCPUNanoseconds() - start
            for case .datagram(let bytes, _) in outputs { toClient.append(bytes) }
        }
        toServer.removeAll()
        for datagram in toClient { collect(client.receive(datagram, now: .now())) }
    }
}

func read(_ name: String) -> String {
    guard let text = try? String(contentsOfFile: "\(pkiDirectory)/\(name)", encoding: .utf8) else {
        fatalError("cannot read \(pkiDirectory)/\(name)")
    }
    return text
}

@inline(never)
func profiledRecord(_ server: DTLSServerEngine, _ client: DTLSClientEngine, _ payload: ByteBuffer) -> Int {
    var delivered = 0
    for case .datagram(let record) in client.send(payload, now: .now()) {
        for output in server.receive(record, from: clientAddress, now: .now()) {
            if case .plaintext = output { delivered += 1 }
        }
    }
    return delivered
}

@inline(never)
func profiledClientEngine(_ configuration: DTLSConfiguration) -> DTLSClientEngine {
    try! DTLSClientEngine(configuration: configuration, server: serverAddress)
}

if kind == "client-engine" {
    _ = try! DTLSClientEngine(configuration: .client(pskIdentity: "warm-up", key: key), server: serverAddress)
    let configuration = DTLSConfiguration.client(pskIdentity: "bench", key: key)
    var start = threadCPUNanoseconds()
    _ = profiledClientEngine(configuration)
    let first = threadCPUNanoseconds() - start
    start = threadCPUNanoseconds()
    for _ in 0..<count { _ = profiledClientEngine(configuration) }
    let later = (threadCPUNanoseconds() - start) / Int64(max(count, 1))
    print("client-engine: first \(first / 1000) us CPU (new SSL_CTX), then \(later / 1000) us each (shared)")
    exit(0)
}

/// No retransmissions: under valgrind a step can take longer than the default 1 s timer (the first ECDHE handshake
/// above all), and a retransmitted flight would break the strict request-response loop of `run`.
func patient(_ configuration: DTLSConfiguration) -> DTLSConfiguration {
    var configuration = configuration
    configuration.initialRetransmissionTimeout = .seconds(60)
    configuration.handshakeTimeout = .seconds(600)
    return configuration
}

let server: DTLSServerEngine
let client: DTLSClientEngine
switch kind {
case "psk", "resume", "record":
    server = try! DTLSServerEngine(configuration: patient(.server(psk: DTLSStaticPSKStore(["bench": key]))))
    client = try! DTLSClientEngine(
        configuration: patient(.client(pskIdentity: "bench", key: key)), server: serverAddress,
        sessionCache: kind == "resume" ? DTLSClientSessionCache() : nil)
case "cert":
    server = try! DTLSServerEngine(configuration: patient(DTLSConfiguration(certificates: DTLSCertificateConfiguration(
        certificateChainPEM: read("server.pem"), privateKeyPEM: read("server.key"), requirePeerCertificate: false))))
    client = try! DTLSClientEngine(
        configuration: patient(DTLSConfiguration(
            certificates: DTLSCertificateConfiguration(trustAnchorsPEM: read("ca.pem")))),
        server: serverAddress)
default:
    fatalError("kind: psk | resume | cert DIR | record | client-engine")
}

if kind == "record" {
    run(server, client, client.start(now: .now()))
    let payload = ByteBuffer(repeating: 0x5A, count: 100)
    let start = threadCPUNanoseconds()
    var delivered = 0
    for _ in 0..<count { delivered += profiledRecord(server, client, payload) }
    let nanoseconds = threadCPUNanoseconds() - start
    precondition(delivered == count)
    print("record: \(count) protect + unprotect, \(nanoseconds / 1000 / Int64(count)) us CPU each (both ends)")
} else {
    // One handshake first, not counted (for `resume` it also leaves the session to resume).
    counting = false
    run(server, client, client.start(now: .now()))
    run(server, client, client.close())
    counting = true
    serverNanoseconds = 0
    for _ in 0..<count {
        run(server, client, client.start(now: .now()))
        precondition(client.state == .established)
        run(server, client, client.close())
    }
    precondition(kind != "resume" || client.lastHandshakeResumed)
    let stats = server.statistics
    print("\(kind): \(count) handshakes (\(stats.fullHandshakes) full, \(stats.resumedHandshakes) resumed), "
        + "server CPU \(Double(serverNanoseconds / Int64(count)) / 1000) us per handshake")
}
