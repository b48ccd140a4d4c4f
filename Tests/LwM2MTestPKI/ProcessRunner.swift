public import Foundation

/// What a command-line peer run by ``ProcessRunner/run(_:timeout:)`` left: exit status and output.
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

/// Runs command-line peers and the package's own executables for the test targets: finds them, starts them and
/// waits for them with a timeout. Servers bind port 0 and report their port (libcoap's: ``LibcoapServer``).
public enum ProcessRunner {
    /// The package root, found from this file's path (`<root>/Tests/LwM2MTestPKI/ProcessRunner.swift`).
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The full path of `name` on PATH, if it is there.
    public static func path(of name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// Whether `name` is on PATH.
    public static func exists(_ name: String) -> Bool { path(of: name) != nil }

    /// A built executable of this package (`lwm2m-server`, ...) next to the test bundle or in `.build/debug`.
    public static func builtExecutable(_ name: String) -> URL? {
        var candidates: [URL] = []
        if let argv0 = CommandLine.arguments.first {
            var dir = URL(fileURLWithPath: argv0).resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0..<4 {
                candidates.append(dir.appendingPathComponent(name))
                dir = dir.deletingLastPathComponent()
            }
        }
        if let bundle = Bundle.main.executableURL {
            candidates.append(bundle.deletingLastPathComponent().appendingPathComponent(name))
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug/\(name)"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
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
            // SIGKILL: a child may inherit a blocked SIGTERM from the test runner.
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        for await _ in exited.stream { break }
        let timedOut = watchdog.isCancelled == false && process.terminationReason == .uncaughtSignal
        watchdog.cancel()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return ProcessResult(status: process.terminationStatus, stdout: stdout, stderr: stderr, timedOut: timedOut)
    }

    /// Starts a long-running process with no input, its standard output and error into `output` (discarded
    /// without one); the caller ends it with ``stop(_:)``.
    public static func start(_ arguments: [String], output: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = output ?? FileHandle.nullDevice
        process.standardError = output ?? FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Kills a process started by ``start(_:)`` with SIGKILL (libcoap's example server keeps running on SIGTERM)
    /// and reaps it.
    public static func stop(_ process: Process) {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
