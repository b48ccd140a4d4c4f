import BootstrapKit
import CoAPCore
import DTLSTransport
import Foundation
import LwM2MModel
import NIOCore
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

    @Test(
        "DTLS-PSK: lwm2m-client --bootstrap coaps:// with the bootstrap credentials gets other PSK credentials for the server",
        .enabled(if: clientBinary != nil, "lwm2m-client is not built"))
    func bootstrapOverDTLS() async throws {
        let bootstrapKey: [UInt8] = Array("bootstrap-secret".utf8)
        let serverKey: [UInt8] = Array("dm-server-secret".utf8)
        // The LwM2M server accepts only the credentials the bootstrap server hands out.
        let server = try await DTLSServerForProcess(.server(psk: DTLSStaticPSKStore(["dm-id": serverKey])))
        let configuration = LwM2MBootstrapConfiguration(
            delete: [.object(0), .object(1)],
            security: [.init(
                instance: 1, uri: "coaps://127.0.0.1:\(server.port)", securityMode: .psk,
                publicKeyOrIdentity: Array("dm-id".utf8), secretKey: serverKey, shortServerID: 3)],
            servers: [.init(instance: 0, shortServerID: 3, lifetime: 66)])
        // The bootstrap server (in process: lwm2m-bootstrap has no DTLS yet) accepts only the bootstrap identity.
        let transport = try await DTLSServerTransport.bind(
            host: "127.0.0.1", port: 0, configuration: .server(psk: DTLSStaticPSKStore(["bs-id": bootstrapKey])))
        let bootstrapServer = LwM2MBootstrapServer(
            endpoint: CoAPEndpoint(transport: transport),
            store: LwM2MInMemoryBootstrapConfigurationStore(endpoints: ["bs-dtls": configuration]))
        let bootstrapEvents = Recorder(bootstrapServer.events)
        await bootstrapServer.start()

        let hex = bootstrapKey.map { String(format: "%02x", $0) }.joined()
        let client = try ChildProcess(clientBinary, [
            "--bootstrap", "coaps://127.0.0.1:\(transport.localAddress.port!)", "--endpoint", "bs-dtls",
            "--psk-identity", "bs-id", "--psk-key", hex, "--log-level", "error",
        ])
        defer { client.kill() }
        let registration = try await server.registered("bs-dtls")
        #expect(registration.lifetime == 66)
        _ = try await DTLSBench.wait(bootstrapEvents) { if case .finished = $0 { true } else { false } }
        let ssid = try await server.server.read(endpoint: "bs-dtls", path: .resource(1, 0, 0))
        #expect(ssid.singleValue == .integer(3))
        await bootstrapServer.stop()
        await server.server.close()
    }
}
