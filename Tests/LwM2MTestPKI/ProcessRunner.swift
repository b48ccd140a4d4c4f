public import Foundation
import NIOCore
import NIOPosix

/// Runs a command-line peer (libcoap, openssl) with a timeout, capturing its output.
public struct ProcessResult: Sendable {
    /// The exit status.
    public var status: Int32
    /// Standard output.
    public var stdout: String
    /// Standard error.
    public var stderr: String
    /// Whether the watchdog killed it.
    public var timedOut: Bool
}

public enum ProcessRunner {
    /// Whether `name` is on PATH.
    public static func exists(_ name: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }

    /// Runs `arguments` (looked up on PATH) and waits for it to exit, killing it after `timeout`.
    public static func run(_ arguments: [String], timeout: Duration = .seconds(20)) async throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let exited = AsyncStream.makeStream(of: Void.self)
        process.terminationHandler = { _ in exited.continuation.yield(); exited.continuation.finish() }
        try process.run()
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            if process.isRunning { process.terminate() }
        }
        for await _ in exited.stream { break }
        let timedOut = watchdog.isCancelled == false && process.terminationReason == .uncaughtSignal
        watchdog.cancel()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return ProcessResult(status: process.terminationStatus, stdout: stdout, stderr: stderr, timedOut: timedOut)
    }

    /// Starts a long-running process; the caller terminates it.
    public static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// A UDP port p such that p and p + 1 are both free on 127.0.0.1 right now (libcoap serves DTLS on p + 1).
    public static func freePortPair() async throws -> Int {
        for _ in 0..<20 {
            let first = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0).get()
            let port = first.localAddress!.port!
            defer { first.close(promise: nil) }
            guard port < 65_000 else { continue }
            if let second = try? await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: port + 1).get()
            {
                try await second.close()
                try await first.close()
                return port
            }
        }
        throw NSError(domain: "ports", code: 1)
    }
}
