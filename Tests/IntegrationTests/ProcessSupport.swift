import CoAPCore
import Foundation
import LwM2MTestPKI
import NIOCore
import ServerKit
import Synchronization
import Testing

// Shared helpers for tests that run the package's executables as real processes. Process tests of every
// executable combination (server, client, bootstrap; UDP and DTLS) live in this target and use these.

/// The package root.
let packageRoot = ProcessRunner.packageRoot

/// A built executable next to the test bundle (or in `.build/debug`), if any.
func executable(_ name: String) -> URL? { ProcessRunner.builtExecutable(name) }

let serverBinary = executable("lwm2m-server")
let clientBinary = executable("lwm2m-client")

/// The JSON lines of a pipe (other lines as JSON strings), consumed in order; a reader skips the lines it is not
/// waiting for.
final class JSONLines: Sendable {
    struct State {
        var lines: [JSONValue] = []
        var consumed = 0
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    let state = Mutex(State())

    init(_ handle: FileHandle) {
        Thread { [self] in
            var pending = Data()
            func wake(_ s: inout State) -> CheckedContinuation<Void, Never>? {
                defer { s.waiter = nil }
                return s.waiter
            }
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    // A line that is not JSON (e.g. lwm2m-client's text output) is kept as a JSON string.
                    let v = (try? JSONValue.parse(line)) ?? .string(line)
                    self.state.withLock { s in
                        s.lines.append(v)
                        return wake(&s)
                    }?.resume()
                }
            }
            self.state.withLock { s in
                s.finished = true
                return wake(&s)
            }?.resume()
        }.start()
    }

    func next(where predicate: @Sendable (JSONValue) -> Bool) async -> JSONValue? {
        while true {
            let (found, finished): (JSONValue?, Bool) = state.withLock { s in
                while s.consumed < s.lines.count {
                    let v = s.lines[s.consumed]
                    s.consumed += 1
                    if predicate(v) { return (v, false) }
                }
                return (nil, s.finished)
            }
            if let found { return found }
            if finished || Task.isCancelled { return nil }
            // Cancellable, so that `withTimeout` can end a wait for a line that never comes (not hang).
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { s -> Bool in
                        if s.consumed < s.lines.count || s.finished || Task.isCancelled { return true }
                        s.waiter = c
                        return false
                    }
                    if ready { c.resume() }
                }
            } onCancel: {
                state.withLock { s in
                    defer { s.waiter = nil }
                    return s.waiter
                }?.resume()
            }
        }
    }
}

/// A UDP port that was free a moment ago.
func freeUDPPort() async throws -> Int { try await ProcessRunner.freeUDPPort() }


let bootstrapBinary = executable("lwm2m-bootstrap")

/// A child process of a test: its standard input, its standard output read as JSON lines (when asked for),
/// killed with SIGKILL when the test lets go of it.
final class ChildProcess: Sendable {
    let process: Process
    let input: Pipe
    /// The JSON lines the child writes to standard output (nil unless `jsonOutput`).
    let output: JSONLines?

    /// Starts `binary` with `arguments`; stderr goes to the null device unless `stderr` is given.
    init(_ binary: URL?, _ arguments: [String], jsonOutput: Bool = true, stderr: FileHandle? = nil) throws {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let input = Pipe()
        process.standardInput = input
        let outPipe = Pipe()
        process.standardOutput = jsonOutput ? outPipe : FileHandle.nullDevice
        process.standardError = stderr ?? FileHandle.nullDevice
        try process.run()
        self.process = process
        self.input = input
        self.output = jsonOutput ? JSONLines(outPipe.fileHandleForReading) : nil
    }

    deinit { kill() }

    /// Writes one line to the child's standard input.
    func send(_ line: String) { input.fileHandleForWriting.write(Data((line + "\n").utf8)) }

    /// Closes the child's standard input (end of input).
    func closeInput() throws { try input.fileHandleForWriting.close() }

    /// The next JSON line that matches, within `seconds` of real time (a hang guard, not a wait).
    func line(
        within seconds: Double = 60, where predicate: @escaping @Sendable (JSONValue) -> Bool
    ) async throws -> JSONValue {
        guard let output else { throw TimeoutError() }
        return try await withTimeout(seconds: seconds) {
            guard let v = await output.next(where: predicate) else { throw TimeoutError() }
            return v
        }
    }

    /// Sends SIGKILL if the child still runs.
    func kill() { if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) } }
}
