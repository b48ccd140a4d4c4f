import CoAPCore
import LwM2MTestPKI
import Foundation
import NIOCore
import Synchronization
import Testing

@testable import ServerKit

/// The built `lwm2m-server` next to the test bundle (or in `.build/debug`), if any.
let serverExecutable = ProcessRunner.builtExecutable("lwm2m-server")

let coapClient = ProcessRunner.path(of: "coap-client-notls")

/// Runs `coap-client-notls` with `arguments` and returns its exit status.
func runCoAPClient(_ arguments: [String]) async throws -> Int32 {
    try await ProcessRunner.run([coapClient!] + arguments, timeout: .seconds(60)).status
}

@Suite("lwm2m-server as a process")
struct ServerProcessTests {
    @Test(
        "coap-client-notls registers, is listed by `clients`, updates and de-registers; EOF stops the server",
        .enabled(if: serverExecutable != nil, "lwm2m-server is not built (run swift build)"),
        .enabled(if: coapClient != nil, "coap-client-notls is not installed (Debian package libcoap3-bin)"))
    func registerWithLibcoap() async throws {
        let server = Process()
        server.executableURL = serverExecutable
        server.arguments = ["--console", "--coap-port", "0", "--host", "127.0.0.1", "--log-level", "warning"]
        let stdin = Pipe()
        let stdout = Pipe()
        server.standardInput = stdin
        server.standardOutput = stdout
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        let output = LineQueue(PipeLines(stdout.fileHandleForReading).lines) { try? JSONValue.parse($0) }
        func nextLine(where predicate: @escaping @Sendable (JSONValue) -> Bool) async throws -> JSONValue {
            try await withTimeout(seconds: 30) {
                guard let v = await output.next(where: predicate) else { throw TimeoutError() }
                return v
            }
        }

        let listening = try await nextLine { $0["event"]?.stringValue == "listening" }
        // Port 0: the system picks the port and the event reports the one the server really bound.
        let address = try #require(listening["address"]?.stringValue)
        #expect(address.hasPrefix("coap://127.0.0.1:"))
        let port = try #require(address.split(separator: ":").last.flatMap { Int($0) })
        #expect(port != 0)

        #expect(
            try await runCoAPClient([
                "-m", "post", "coap://127.0.0.1:\(port)/rd?ep=dev1&lt=60", "-e", "</1/0>,</3/0>", "-t", "40", "-B", "30",
            ]) == 0)
        let registered = try await nextLine { $0["event"]?.stringValue == "registered" }
        #expect(registered["endpoint"]?.stringValue == "dev1")
        #expect(registered["lifetime"] == .int(60))
        #expect(registered["lwm2m"]?.stringValue == "1.0")
        let id = try #require(registered["registrationId"]?.stringValue)

        stdin.fileHandleForWriting.write(Data("clients\n".utf8))
        let clients = try await nextLine { $0["clients"] != nil }
        guard case .array(let list)? = clients["clients"] else {
            Issue.record("clients is not an array: \(clients.jsonText)")
            return
        }
        #expect(list.count == 1)
        #expect(list.first?["endpoint"]?.stringValue == "dev1")
        #expect(list.first?["registrationId"]?.stringValue == id)
        #expect(list.first?["objects"] == .array([
            .object([("id", .int(1)), ("instances", .array([.int(0)]))]),
            .object([("id", .int(3)), ("instances", .array([.int(0)]))]),
        ]))

        #expect(try await runCoAPClient(["-m", "post", "coap://127.0.0.1:\(port)/rd/\(id)?lt=120", "-B", "30"]) == 0)
        let updated = try await nextLine { $0["event"]?.stringValue == "updated" }
        #expect(updated["lifetime"] == .int(120))

        #expect(try await runCoAPClient(["-m", "delete", "coap://127.0.0.1:\(port)/rd/\(id)", "-B", "30"]) == 0)
        let deregistered = try await nextLine { $0["event"]?.stringValue == "deregistered" }
        #expect(deregistered["registrationId"]?.stringValue == id)

        stdin.fileHandleForWriting.write(Data("clients\n".utf8))
        let empty = try await nextLine { $0["clients"] != nil }
        #expect(empty["clients"] == .array([]))

        // End of input stops the server cleanly.
        try stdin.fileHandleForWriting.close()
        let exited = try await withTimeout(seconds: 20) {
            server.waitUntilExit()
            return server.terminationStatus
        }
        #expect(exited == 0)
    }
}
