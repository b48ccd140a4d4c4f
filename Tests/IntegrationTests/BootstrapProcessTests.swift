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
        let serverPort = try await freeUDPPort()
        let bootstrapPort = try await freeUDPPort()
        let bootstrap = try ChildProcess(
            bootstrapBinary,
            ["--host", "127.0.0.1", "--coap-port", "\(bootstrapPort)", "--server-uri", "coap://127.0.0.1:\(serverPort)",
             "--server-lifetime", "77", "--log-level", "error"],
            jsonOutput: false)
        let server = try ChildProcess(
            serverBinary, ["--console", "--coap-port", "\(serverPort)", "--host", "127.0.0.1", "--log-level", "warning"])
        _ = try await server.line { $0["event"]?.stringValue == "listening" }

        // The client knows only the bootstrap server; the lifetime it registers with comes from the bootstrap.
        let client = try ChildProcess(
            clientBinary,
            ["--bootstrap", "coap://127.0.0.1:\(bootstrapPort)", "--endpoint", "bs-proc", "--lifetime", "300",
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
}
