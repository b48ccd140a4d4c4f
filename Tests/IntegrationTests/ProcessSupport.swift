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

/// Starts `lwm2m-server --console` on 127.0.0.1 with the ports it listens on chosen by the system: `--coap-port 0`
/// (`off` unless `coap`), `--coaps-port 0` when `coaps`. Returns the server once it listens, with the addresses its
/// `listening` event reports (`coap://127.0.0.1:N` first, then `coaps://127.0.0.1:M`).
func startServer(
    _ arguments: [String] = [], coap: Bool = true, coaps: Bool = false
) async throws -> (server: ChildProcess, addresses: [String]) {
    let server = try ChildProcess(
        serverBinary,
        ["--console", "--host", "127.0.0.1", "--coap-port", coap ? "0" : "off", "--log-level", "warning"]
            + (coaps ? ["--coaps-port", "0"] : []) + arguments)
    let listening = try await server.line { $0["event"]?.stringValue == "listening" }
    guard case .array(let values)? = listening["addresses"] else { throw ListeningError(line: listening.jsonText) }
    let addresses = try values.map { try checkedAddress($0.stringValue, in: listening.jsonText) }
    guard addresses.first == listening["address"]?.stringValue,
        addresses.map({ $0.hasPrefix("coaps:") }) == (coap ? [false] : []) + (coaps ? [true] : [])
    else { throw ListeningError(line: listening.jsonText) }
    return (server, addresses)
}

/// The addresses of `lwm2m-bootstrap`'s `lwm2m-bootstrap listening on A[ and B]` line (a child started with
/// `--host 127.0.0.1` and `jsonOutput`, so that the line arrives as a JSON string).
func bootstrapAddresses(_ bootstrap: ChildProcess) async throws -> [String] {
    let prefix = "lwm2m-bootstrap listening on "
    let line = try await bootstrap.line { $0.stringValue?.hasPrefix(prefix) == true }
    let text = line.stringValue ?? ""
    return try text.dropFirst(prefix.count).components(separatedBy: " and ").map { try checkedAddress($0, in: text) }
}

/// The port of a `scheme://host:port` address.
func port(of address: String) -> Int? { address.split(separator: ":").last.flatMap { Int($0) } }

/// `address` if it is `coap[s]://127.0.0.1:PORT` with a real port (not 0).
private func checkedAddress(_ address: String?, in line: String) throws -> String {
    guard let address, address.hasPrefix("coap://127.0.0.1:") || address.hasPrefix("coaps://127.0.0.1:"),
        let port = port(of: address), (1...65535).contains(port)
    else { throw ListeningError(line: line) }
    return address
}

/// A listening line without the addresses a test expects.
struct ListeningError: Error, CustomStringConvertible {
    /// The line.
    var line: String
    var description: String { "unexpected listening line: \(line)" }
}


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
