import BootstrapKit
import CoAPCore
import Codecs
import Foundation
import LwM2MModel
import LwM2MTestPKI
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built `lwm2m-bootstrap` next to the test bundle (SwiftPM builds it because the test target depends on it).
func bootstrapExecutable() -> String? { ProcessRunner.builtExecutable("lwm2m-bootstrap")?.path }

@Suite("lwm2m-bootstrap as a process over real UDP", .serialized)
struct LwM2MBootstrapProcessTests {
    /// Starts the executable and returns it with the port it printed.
    func start(_ arguments: [String]) async throws -> (Process, Int) {
        let tool = try #require(bootstrapExecutable(), "lwm2m-bootstrap was not built next to the tests")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let handle = out.fileHandleForReading
        let line: String? = try? await withTimeout(seconds: 20) {
            var text = ""
            while !text.contains("\n") {
                let chunk = handle.availableData
                if chunk.isEmpty { return text }
                text += String(decoding: chunk, as: UTF8.self)
            }
            return text
        }
        guard let line, let portText = line.split(separator: ":").last?.split(separator: "\n").first,
            let port = Int(portText.trimmingCharacters(in: .whitespaces))
        else {
            Self.stop(process)
            throw TimeoutError()
        }
        return (process, port)
    }

    static func stop(_ process: Process) {
        // A child may inherit a blocked SIGTERM from the test runner: SIGKILL our own child by its PID.
        ProcessRunner.stop(process)
    }

    @Test("a CoAPEndpoint client is bootstrapped by `lwm2m-bootstrap --server-uri`")
    func endToEnd() async throws {
        let (process, port) = try await start([
            "--host", "127.0.0.1", "--coap-port", "0", "--server-uri", "coap://127.0.0.1:5999",
            "--server-lifetime", "120", "--log-level", "debug",
        ])
        defer { Self.stop(process) }
        let transport = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let endpoint = CoAPEndpoint(transport: transport)
        let client = ScriptedClient(endpoint: endpoint)
        await client.install()
        let server = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        let response = try await endpoint.request(.request(.post, path: "/bs", query: ["ep=dev1"]), to: server)
        #expect(response.code == .changed)
        try await withTimeout {
            for await _ in client.finished { break }
        }
        let requests = client.requests
        #expect(requests.map(\.path) == ["/0", "/1", "/0/1", "/1/0", "/bs"])
        #expect(requests.map(\.method) == [.delete, .delete, .put, .put, .post])
        let codec = LwM2MCodec(definitions: LwM2MRegistry.builtIn)
        guard case .objectInstance(let security) = try codec.decode(requests[2].payload, at: .instance(0, 1), as: .tlv),
            case .objectInstance(let serverInstance) = try codec.decode(requests[3].payload, at: .instance(1, 0), as: .tlv)
        else {
            Issue.record("the writes were not object instances")
            return
        }
        #expect(security[resource: 0]?.value == .string("coap://127.0.0.1:5999"))
        #expect(security[resource: 1]?.value == .boolean(false))
        #expect(security[resource: 2]?.value == .integer(3))
        #expect(serverInstance[resource: 0]?.value == .integer(1))
        #expect(serverInstance[resource: 1]?.value == .integer(120))
        #expect(serverInstance[resource: 7]?.value == .string("U"))
        await endpoint.close()
    }

    @Test("`lwm2m-bootstrap --config` writes the file's PSK credentials and skips unlisted endpoints")
    func configFile() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bootstrap-\(getpid()).json")
        try Data(#"""
            {"endpoints": {"dev7": {"delete": ["/0/1"], "security": [{"instance": 1, "uri": "coaps://127.0.0.1:5998",
              "securityMode": "psk", "pskIdentity": "dev7", "pskKey": "c0ffee", "shortServerId": 7}]}}}
            """#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (process, port) = try await start(["--host", "127.0.0.1", "--coap-port", "0", "--config", file.path])
        defer { Self.stop(process) }
        let endpoint = CoAPEndpoint(transport: try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0))
        let client = ScriptedClient(endpoint: endpoint)
        await client.install()
        let server = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        let refused = try await endpoint.request(.request(.post, path: "/bs", query: ["ep=other"]), to: server)
        #expect(refused.code == .badRequest)
        let response = try await endpoint.request(.request(.post, path: "/bs", query: ["ep=dev7"]), to: server)
        #expect(response.code == .changed)
        try await withTimeout {
            for await _ in client.finished { break }
        }
        let requests = client.requests
        #expect(requests.map(\.path) == ["/0/1", "/0/1", "/bs"])
        let codec = LwM2MCodec(definitions: LwM2MRegistry.builtIn)
        guard case .objectInstance(let security) = try codec.decode(requests[1].payload, at: .instance(0, 1), as: .tlv)
        else {
            Issue.record("the write was not an object instance")
            return
        }
        #expect(security[resource: 0]?.value == .string("coaps://127.0.0.1:5998"))
        #expect(security[resource: 2]?.value == .integer(0))
        #expect(security[resource: 3]?.value == .opaque(Array("dev7".utf8)))
        #expect(security[resource: 5]?.value == .opaque([0xC0, 0xFF, 0xEE]))
        #expect(security[resource: 10]?.value == .integer(7))
        await endpoint.close()
    }

    @Test("a bad --config file is rejected at start naming the field")
    func badConfigFile() async throws {
        let tool = try #require(bootstrapExecutable(), "lwm2m-bootstrap was not built next to the tests")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-bootstrap-\(getpid()).json")
        try Data(#"{"endpoints": {"dev1": {"servers": [{"instance": 0, "lifetime": 60}]}}}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await ProcessRunner.run(
            [tool, "--host", "127.0.0.1", "--coap-port", "0", "--config", file.path], timeout: .seconds(20))
        let stderr = result.stderr
        #expect(result.status != 0)
        #expect(stderr.contains("endpoints.dev1.servers[0].shortServerId"), "\(stderr)")
    }
}
