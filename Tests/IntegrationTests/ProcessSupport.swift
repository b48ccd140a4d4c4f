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

/// The lines of a pipe as JSON values (a line that is not JSON, e.g. lwm2m-client's text output, as a JSON string),
/// consumed in order; a reader skips the lines it is not waiting for.
func jsonLines(_ handle: FileHandle) -> LineQueue<JSONValue> {
    LineQueue(PipeLines(handle).lines) { (try? JSONValue.parse($0)) ?? .string($0) }
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
    let output: LineQueue<JSONValue>?

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
        self.output = jsonOutput ? jsonLines(outPipe.fileHandleForReading) : nil
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
