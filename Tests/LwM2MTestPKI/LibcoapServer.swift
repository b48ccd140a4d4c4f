public import Foundation
import NIOCore
import NIOPosix

/// A libcoap example server (`coap-server-notls`, `coap-server-openssl`, ...) run by a test on 127.0.0.1, started
/// so that it owns its ports: the only peer of the tests that cannot be told to bind port 0 and report its port.
///
/// libcoap binds with SO_REUSEADDR, and Linux lets SO_REUSEADDR sockets share a UDP port (a port-0 bind may even
/// land on one), so a port that was free a moment ago is not enough. Plain CoAP runs with `-p 0` and the port is
/// read from the server's own log line (`created UDP  endpoint 127.0.0.1:N`, at `-v 7`). With DTLS libcoap serves
/// on port + 1 (`-p 0` would put DTLS on port 1), so it gets a pair that was free a moment ago and its log lines
/// must name both. A server that cannot bind exits; one that shares a port with another socket (Linux: a second row
/// for the port in `/proc/net/udp*`) is killed; either way it is started again on new ports.
public final class LibcoapServer: Sendable {
    /// The server process.
    public let process: Process
    /// The plain CoAP port.
    public let port: Int
    /// The DTLS port (`port + 1`), when started with `dtls`.
    public let dtlsPort: Int?
    /// Everything the server logs (kept drained so the server never blocks on a full pipe).
    public let log: LineQueue<String>

    private init(process: Process, port: Int, dtlsPort: Int?, log: LineQueue<String>) {
        self.process = process
        self.port = port
        self.dtlsPort = dtlsPort
        self.log = log
    }

    deinit { stop() }

    /// Starts `tool` (found on PATH) with `-A 127.0.0.1 -p PORT -v 7` and `arguments`, and returns it once its log
    /// says it listens on ports no other socket holds.
    ///
    /// - Parameters:
    ///   - dtls: Whether the server also serves DTLS (on ``port`` + 1), as the TLS builds do.
    ///   - attempts: How many servers to start before giving up.
    public static func start(
        _ tool: String, _ arguments: [String] = [], dtls: Bool = false, attempts: Int = 5
    ) async throws -> LibcoapServer {
        var failures: [String] = []
        for _ in 0..<attempts {
            let requested = dtls ? try await freePortPair() : 0
            let pipe = Pipe()
            let process = try ProcessRunner.start(
                [tool, "-A", "127.0.0.1", "-p", "\(requested)", "-v", "7"] + arguments, output: pipe)
            let log = LineQueue(PipeLines(pipe.fileHandleForReading).lines) { $0 }
            // nil: the log ended (the server exited, e.g. on "bind: Address already in use") or took too long.
            let udpPort = try? await withTimeout(seconds: 10) { await Self.endpointPort("UDP", in: log) }
            let dtlsPort = dtls ? try? await withTimeout(seconds: 10) { await Self.endpointPort("DTLS", in: log) } : nil
            guard let udpPort, !dtls || (udpPort == requested && dtlsPort == requested + 1) else {
                failures.append("no endpoint on port \(requested) in its log")
                ProcessRunner.stop(process)
                continue
            }
            let ports = [udpPort] + (dtls ? [requested + 1] : [])
            // Exactly one socket per port, the server's (nil: the socket table cannot be read here).
            if let shared = ports.first(where: { port in socketsBound(to: port).map { $0 != 1 } ?? false }) {
                failures.append("port \(shared) is not held by the server alone")
                ProcessRunner.stop(process)
                continue
            }
            return LibcoapServer(process: process, port: udpPort, dtlsPort: dtls ? requested + 1 : nil, log: log)
        }
        throw LibcoapServerError(tool: tool, failures: failures)
    }

    /// Kills the server with SIGKILL (it keeps running on SIGTERM) and reaps it.
    public func stop() { ProcessRunner.stop(process) }

    /// The port of the first `created KIND endpoint 127.0.0.1:PORT` log line; nil when the log ends first.
    private static func endpointPort(_ kind: String, in log: LineQueue<String>) async -> Int? {
        let line = await log.next { line in
            let words = line.split(separator: " ")
            guard let created = words.firstIndex(of: "created") else { return false }
            return words.index(after: created) < words.endIndex && words[words.index(after: created)] == kind
        }
        return line?.split(separator: " ").last?.split(separator: ":").last.flatMap { Int($0) }
    }

    /// How many UDP sockets of this network namespace are bound to local `port`; nil where that cannot be seen
    /// (no `/proc/net/udp`, e.g. not Linux).
    public static func socketsBound(to port: Int) -> Int? {
        let hex = String(format: ":%04X", port)
        var count = 0
        for file in ["/proc/net/udp", "/proc/net/udp6"] {
            // Read to the end chunk by chunk: a /proc file reports size 0, and a one-shot read stops at one page.
            guard let handle = FileHandle(forReadingAtPath: file) else { return nil }
            var data = Data()
            while case let chunk = handle.availableData, !chunk.isEmpty { data.append(chunk) }
            try? handle.close()
            // Rows: "sl local_address rem_address ...", local_address as HEXADDR:HEXPORT.
            count += String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst().filter { row in
                row.split(separator: " ").dropFirst().first?.hasSuffix(hex) == true
            }.count
        }
        return count
    }

    /// A UDP port p such that p and p + 1 were both free on 127.0.0.1 a moment ago (bound without SO_REUSEADDR, so
    /// no socket held either, then released).
    private static func freePortPair() async throws -> Int {
        for _ in 0..<20 {
            let first = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0).get()
            let port = first.localAddress?.port ?? 65_535
            let second = port < 65_000
                ? try? await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .bind(host: "127.0.0.1", port: port + 1).get()
                : nil
            try? await second?.close()
            try? await first.close()
            if second != nil { return port }
        }
        throw LibcoapServerError(tool: "", failures: ["no free port pair on 127.0.0.1"])
    }
}

/// A libcoap server that did not come up on ports of its own after every attempt.
public struct LibcoapServerError: Error, CustomStringConvertible {
    /// The tool that was started.
    public var tool: String
    /// Why each attempt failed.
    public var failures: [String]

    /// The tool and the failures.
    public var description: String { "\(tool) did not start: \(failures.joined(separator: "; "))" }
}
