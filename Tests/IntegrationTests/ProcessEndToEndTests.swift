import CoAPCore
import Foundation
import NIOCore
import ServerKit
import Synchronization
import Testing

/// The package root, found from this file's path.
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A built executable next to the test bundle (or in `.build/debug`), if any.
private func executable(_ name: String) -> URL? {
    var candidates: [URL] = []
    if let argv0 = CommandLine.arguments.first {
        var dir = URL(fileURLWithPath: argv0).deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent(name))
            dir = dir.deletingLastPathComponent()
        }
    }
    candidates.append(packageRoot.appendingPathComponent(".build/debug/\(name)"))
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
}

private let serverBinary = executable("lwm2m-server")
private let clientBinary = executable("lwm2m-client")

/// A real-time guard against hangs (not a sleep to wait for events).
private func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            throw TimeoutError()
        }
        group.cancelAll()
        return value
    }
}

/// The JSON lines of a pipe, consumed in order; a reader skips the lines it is not waiting for.
private final class JSONLines: Sendable {
    private struct State {
        var lines: [JSONValue] = []
        var consumed = 0
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

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
                    guard let v = try? JSONValue.parse(line) else { continue }
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
            if finished { return nil }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    if s.consumed < s.lines.count || s.finished { return true }
                    s.waiter = c
                    return false
                }
                if ready { c.resume() }
            }
        }
    }
}

/// A UDP port that was free a moment ago.
private func freeUDPPort() async throws -> Int {
    let t = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
    let port = t.localAddress.port!
    await t.close()
    return port
}

@Suite("lwm2m-server <-> lwm2m-client as processes")
struct ProcessEndToEndTests {
    @Test(
        "Register, Read, Observe, WriteReplace, Discover through the console; a shell change notifies; EOF de-registers",
        .enabled(if: serverBinary != nil && clientBinary != nil, "lwm2m-server / lwm2m-client are not built"))
    func consoleAgainstClientProcess() async throws {
        let port = try await freeUDPPort()
        let server = Process()
        server.executableURL = serverBinary
        server.arguments = ["--console", "--coap-port", "\(port)", "--host", "127.0.0.1", "--log-level", "warning"]
        let serverIn = Pipe()
        let serverOut = Pipe()
        server.standardInput = serverIn
        server.standardOutput = serverOut
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let output = JSONLines(serverOut.fileHandleForReading)
        func line(_ predicate: @escaping @Sendable (JSONValue) -> Bool) async throws -> JSONValue {
            try await withTimeout(seconds: 60) {
                guard let v = await output.next(where: predicate) else { throw TimeoutError() }
                return v
            }
        }
        func command(_ text: String) { serverIn.fileHandleForWriting.write(Data((text + "\n").utf8)) }

        _ = try await line { $0["event"]?.stringValue == "listening" }

        let client = Process()
        client.executableURL = clientBinary
        client.arguments = [
            "--server", "coap://127.0.0.1:\(port)", "--endpoint", "e2e1", "--lifetime", "120", "--log-level", "error",
        ]
        let clientIn = Pipe()
        client.standardInput = clientIn
        client.standardOutput = FileHandle.nullDevice
        client.standardError = FileHandle.nullDevice
        try client.run()
        defer { if client.isRunning { kill(client.processIdentifier, SIGKILL) } }

        let registered = try await line { $0["event"]?.stringValue == "registered" }
        #expect(registered["endpoint"]?.stringValue == "e2e1")
        #expect(registered["lifetime"] == .int(120))
        #expect(registered["lwm2m"]?.stringValue == "1.1")

        command(#"e2e1 Read {"id":"/3/0/0"}"#)
        let read = try await line { $0["method"]?.stringValue == "Read" }
        #expect(read["result"]?.stringValue == "CONTENT")
        #expect(read["value"]?.stringValue?.isEmpty == false)

        command(#"e2e1 Observe {"id":"/3303/0/5700"}"#)
        let observe = try await line { $0["method"]?.stringValue == "Observe" }
        #expect(observe["result"]?.stringValue == "CONTENT")

        command(#"e2e1 WriteReplace {"id":"/1/0/1","value":120}"#)
        let write = try await line { $0["method"]?.stringValue == "WriteReplace" }
        #expect(write["result"]?.stringValue == "CHANGED")

        command(#"e2e1 Discover {"id":"/3/0"}"#)
        let discover = try await line { $0["method"]?.stringValue == "Discover" }
        #expect(discover["result"]?.stringValue == "CONTENT")
        #expect(discover.jsonText.contains("</3/0/0>"))

        clientIn.fileHandleForWriting.write(Data("temp 24.5\n".utf8))
        let notification = try await line {
            $0["event"]?.stringValue == "notification" && ($0["value"] == .double(24.5))
        }
        #expect(notification["endpoint"]?.stringValue == "e2e1")
        #expect(notification["path"]?.stringValue == "/3303/0/5700")

        // End of the client's input: it de-registers.
        try clientIn.fileHandleForWriting.close()
        let deregistered = try await line { $0["event"]?.stringValue == "deregistered" }
        #expect(deregistered["endpoint"]?.stringValue == "e2e1")
    }
}
