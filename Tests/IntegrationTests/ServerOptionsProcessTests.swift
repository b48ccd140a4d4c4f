import LwM2MTestPKI
import CoAPCore
import Foundation
import NIOCore
import ServerKit
import Testing

/// A custom object for `--models`: object 32769 with a Boolean and a Float resource. Without this definition
/// the server could not type the plain-text values it reads.
private let pumpObjectXML = """
    <?xml version="1.0" encoding="UTF-8"?>
    <LWM2M>
    \t<Object ObjectType="MODefinition">
    \t\t<Name>Pump Controller</Name>
    \t\t<Description1>A test object.</Description1>
    \t\t<ObjectID>32769</ObjectID>
    \t\t<ObjectURN>urn:oma:lwm2m:x:32769</ObjectURN>
    \t\t<LWM2MVersion>1.0</LWM2MVersion>
    \t\t<ObjectVersion>1.0</ObjectVersion>
    \t\t<MultipleInstances>Multiple</MultipleInstances>
    \t\t<Mandatory>Optional</Mandatory>
    \t\t<Resources>
    \t\t\t<Item ID="1">
    \t\t\t\t<Name>Pump Running</Name>
    \t\t\t\t<Operations>R</Operations>
    \t\t\t\t<MultipleInstances>Single</MultipleInstances>
    \t\t\t\t<Mandatory>Mandatory</Mandatory>
    \t\t\t\t<Type>Boolean</Type>
    \t\t\t\t<RangeEnumeration></RangeEnumeration>
    \t\t\t\t<Units></Units>
    \t\t\t\t<Description>Whether the pump runs.</Description>
    \t\t\t</Item>
    \t\t\t<Item ID="2">
    \t\t\t\t<Name>Flow Rate</Name>
    \t\t\t\t<Operations>R</Operations>
    \t\t\t\t<MultipleInstances>Single</MultipleInstances>
    \t\t\t\t<Mandatory>Optional</Mandatory>
    \t\t\t\t<Type>Float</Type>
    \t\t\t\t<RangeEnumeration></RangeEnumeration>
    \t\t\t\t<Units>l/min</Units>
    \t\t\t\t<Description>The flow.</Description>
    \t\t\t</Item>
    \t\t</Resources>
    \t</Object>
    </LWM2M>
    """

/// A fresh temporary directory, removed by the caller.
private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("lwm2m-server-options-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs `lwm2m-server` with `arguments` to its end (it must fail at startup) and returns its status and stderr.
private func failingStartup(_ arguments: [String]) async throws -> (status: Int32, stderr: String) {
    let errors = Pipe()
    let child = try ChildProcess(serverBinary, arguments + ["--coap-port", "0", "--host", "127.0.0.1", "--log-level", "warning"],
        jsonOutput: false, stderr: errors.fileHandleForWriting)
    try errors.fileHandleForWriting.close()
    let text = try await withTimeout(seconds: 60) {
        String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
    let status = try await withTimeout(seconds: 30) {
        child.process.waitUntilExit()
        return child.process.terminationStatus
    }
    return (status, text)
}

@Suite("lwm2m-server options and lifecycle as a process")
struct ServerOptionsProcessTests {
    @Test(
        "--models adds a custom object that types Read values; --keys names its resources; default keys come from it",
        .enabled(if: serverBinary != nil, "lwm2m-server is not built"))
    func modelsAndKeys() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let models = dir.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try pumpObjectXML.write(to: models.appendingPathComponent("32769.xml"), atomically: true, encoding: .utf8)
        let keys = dir.appendingPathComponent("keys.json")
        try #"{"flow": "/32769/0/2"}"#.write(to: keys, atomically: true, encoding: .utf8)

        let (server, addresses) = try await startServer(["--models", models.path, "--keys", keys.path])

        // The LwM2M client is an in-process CoAP endpoint on a real UDP socket: it registers and answers reads with
        // plain text, which only the custom definition can type.
        let transport = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let client = CoAPEndpoint(transport: transport)
        await client.register("/32769/0/1") { _ in .response(.content, text: "1", contentFormat: .textPlain) }
        await client.register("/32769/0/2") { _ in .response(.content, text: "2.5", contentFormat: .textPlain) }
        let serverAddress = try SocketAddress(ipAddress: "127.0.0.1", port: try #require(port(of: addresses[0])))
        let registered = try await client.request(
            .request(.post, path: "/rd", query: ["ep=pump1", "lt=60"], payload: ByteBuffer(string: "</32769/0>"),
                contentFormat: .linkFormat), to: serverAddress)
        #expect(registered.code == .created)
        _ = try await server.line { $0["event"]?.stringValue == "registered" }

        server.send(#"pump1 Read {"id":"/32769/0/1"}"#)
        let byID = try await server.line { $0["method"]?.stringValue == "Read" }
        #expect(byID.jsonText == #"{"endpoint":"pump1","method":"Read","result":"CONTENT","value":true}"#)
        server.send(#"pump1 Read {"key":"pumpRunning"}"#)
        let byDefaultKey = try await server.line { $0["method"]?.stringValue == "Read" }
        #expect(byDefaultKey["value"] == .bool(true))
        server.send(#"pump1 Read {"key":"flow"}"#)
        let byFileKey = try await server.line { $0["method"]?.stringValue == "Read" }
        #expect(byFileKey["value"] == .double(2.5))

        try server.closeInput()
        let stopped = try await server.line { $0["event"]?.stringValue == "stopped" }
        #expect(stopped["reason"]?.stringValue == "end of input")
        let status = try await withTimeout(seconds: 30) {
            server.process.waitUntilExit()
            return server.process.terminationStatus
        }
        #expect(status == 0)
        await client.close()
    }

    @Test(
        "SIGINT and SIGTERM each stop the server cleanly: a final stopped event and exit status 0",
        .enabled(if: serverBinary != nil, "lwm2m-server is not built"),
        arguments: [SIGINT, SIGTERM])
    func signalStopsServer(_ signal: Int32) async throws {
        let (server, _) = try await startServer()
        kill(server.process.processIdentifier, signal)
        let stopped = try await server.line { $0["event"]?.stringValue == "stopped" }
        #expect(stopped["reason"]?.stringValue == (signal == SIGINT ? "SIGINT" : "SIGTERM"))
        let status = try await withTimeout(seconds: 30) {
            server.process.waitUntilExit()
            return (server.process.terminationReason, server.process.terminationStatus)
        }
        #expect(status.0 == .exit)
        #expect(status.1 == 0)
    }

    @Test(
        "Bad --models and --keys files stop the server at startup with a clear message and a nonzero status",
        .enabled(if: serverBinary != nil, "lwm2m-server is not built"))
    func badFiles() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let broken = dir.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try "<LWM2M><Object>".write(to: broken.appendingPathComponent("1234.xml"), atomically: true, encoding: .utf8)
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let badJSON = dir.appendingPathComponent("keys.json")
        try #"{"battery": "/3/0"#.write(to: badJSON, atomically: true, encoding: .utf8)
        let badPath = dir.appendingPathComponent("keys-path.json")
        try #"{"battery": "/3/0"}"#.write(to: badPath, atomically: true, encoding: .utf8)

        let cases: [([String], [String])] = [
            (["--models", broken.path], ["--models \(broken.path)", "1234.xml"]),
            (["--models", empty.path], ["--models \(empty.path)", "no *.xml"]),
            (["--models", dir.appendingPathComponent("missing").path], ["--models", "cannot list"]),
            (["--keys", badJSON.path], ["--keys \(badJSON.path)", "not JSON"]),
            (["--keys", badPath.path], ["--keys \(badPath.path)", "/3/0 is not a resource path"]),
            (["--keys", dir.appendingPathComponent("missing.json").path], ["--keys", "cannot read"]),
        ]
        for (arguments, expected) in cases {
            let (status, stderr) = try await failingStartup(arguments)
            #expect(status != 0, "\(arguments)")
            #expect(stderr.hasPrefix("lwm2m-server: error: "), "\(arguments): \(stderr)")
            for fragment in expected { #expect(stderr.contains(fragment), "\(arguments): \(stderr)") }
            #expect(!stderr.contains("listening"), "\(arguments): \(stderr)")
        }
    }
}
