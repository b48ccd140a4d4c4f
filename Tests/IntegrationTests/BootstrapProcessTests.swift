import Foundation
import ServerKit
import Testing

@Suite("lwm2m-client --bootstrap <-> lwm2m-bootstrap <-> lwm2m-server as processes")
struct BootstrapProcessTests {
    @Test(
        "plain UDP: the client is bootstrapped by lwm2m-bootstrap --server-uri, then registers with lwm2m-server",
        .enabled(
            if: serverBinary != nil && clientBinary != nil && bootstrapBinary != nil,
            "lwm2m-server / lwm2m-client / lwm2m-bootstrap are not built"))
    func bootstrapThenRegister() async throws {
        // The server listens first: the bootstrap server hands out its address.
        let (server, serverAddresses) = try await startServer()
        let bootstrap = try ChildProcess(
            bootstrapBinary,
            ["--host", "127.0.0.1", "--coap-port", "0", "--server-uri", serverAddresses[0],
             "--server-lifetime", "77", "--log-level", "error"])
        let bootstrapAddress = try #require(try await bootstrapAddresses(bootstrap).first)

        // The client knows only the bootstrap server; the lifetime it registers with comes from the bootstrap.
        let client = try ChildProcess(
            clientBinary,
            ["--bootstrap", bootstrapAddress, "--endpoint", "bs-proc", "--lifetime", "300",
             "--log-level", "error"],
            jsonOutput: false)

        let registered = try await server.line { $0["event"]?.stringValue == "registered" }
        #expect(registered["endpoint"]?.stringValue == "bs-proc")
        #expect(registered["lifetime"] == .int(77))
        // The server reads the Server account the bootstrap server wrote (short server ID 1).
        server.send(#"bs-proc Read {"id":"/1/0/0"}"#)
        let read = try await server.line { $0["method"]?.stringValue == "Read" }
        #expect(read["result"]?.stringValue == "CONTENT")
        #expect(read["value"] == .int(1), "\(read.jsonText)")
        client.kill()
        bootstrap.kill()
        server.kill()
    }

    @Test(
        "DTLS-PSK as processes: lwm2m-bootstrap --psk and lwm2m-server --psk with different credentials",
        .enabled(
            if: serverBinary != nil && clientBinary != nil && bootstrapBinary != nil,
            "lwm2m-server / lwm2m-client / lwm2m-bootstrap are not built"))
    func bootstrapProcessesOverDTLS() async throws {
        func hex(_ text: String) -> String { Array(text.utf8).map { String(format: "%02x", $0) }.joined() }
        let (bootstrapKey, serverKey) = (hex("bootstrap-secret"), hex("dm-server-secret"))
        // The server listens first: the bootstrap configuration hands out its address.
        let (server, serverAddresses) = try await startServer(
            ["--psk", "bs-proc-dtls:dm-id:\(serverKey)"], coap: false, coaps: true)
        defer { server.kill() }
        // The bootstrap configuration hands out the LwM2M server's PSK credentials (other than the bootstrap ones).
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bs-dtls-\(UUID().uuidString).json")
        try Data(#"""
            {"endpoints": {"bs-proc-dtls": {
              "delete": ["/0", "/1"],
              "security": [{"instance": 1, "uri": "\#(serverAddresses[0])", "securityMode": "psk",
                            "pskIdentity": "dm-id", "pskKey": "\#(serverKey)", "shortServerId": 2}],
              "servers": [{"instance": 0, "shortServerId": 2, "lifetime": 88}]}}}
            """#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let bootstrap = try ChildProcess(
            bootstrapBinary,
            ["--host", "127.0.0.1", "--coap-port", "off", "--coaps-port", "0",
             "--psk", "bs-proc-dtls:bs-id:\(bootstrapKey)", "--config", file.path, "--log-level", "error"])
        defer { bootstrap.kill() }
        let bootstrapAddress = try #require(try await bootstrapAddresses(bootstrap).first)
        #expect(bootstrapAddress.hasPrefix("coaps://"))

        let client = try ChildProcess(
            clientBinary,
            ["--bootstrap", bootstrapAddress, "--endpoint", "bs-proc-dtls", "--psk-identity", "bs-id",
             "--psk-key", bootstrapKey, "--log-level", "error"],
            jsonOutput: false)
        defer { client.kill() }
        let registered = try await server.line { $0["event"]?.stringValue == "registered" }
        #expect(registered["endpoint"]?.stringValue == "bs-proc-dtls")
        #expect(registered["lifetime"] == .int(88))
        server.send(#"bs-proc-dtls Read {"id":"/1/0/0"}"#)
        let read = try await server.line { $0["method"]?.stringValue == "Read" }
        #expect(read["value"] == .int(2), "\(read.jsonText)")
    }
}
