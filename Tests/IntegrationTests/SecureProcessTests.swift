import Foundation
import LwM2MTestPKI
import ServerKit
import Testing

/// `lwm2m-server --coaps-port` and `lwm2m-client` with `coaps://` servers, both as processes.
@Suite("lwm2m-server <-> lwm2m-client over DTLS as processes")
struct SecureProcessTests {
    static let key1 = "6b65792d6f662d64657631"  // "key-of-dev1"
    static let key2 = "6b65792d6f662d64657632"  // "key-of-dev2"

    /// Starts `lwm2m-server --console` with CoAPS only and returns it with its `coaps://` address.
    static func server(_ arguments: [String]) async throws -> (ChildProcess, String) {
        let (server, addresses) = try await startServer(arguments, coap: false, coaps: true)
        return (server, addresses[0])
    }

    static func client(_ arguments: [String]) throws -> ChildProcess {
        try ChildProcess(clientBinary, arguments + ["--lifetime", "120", "--log-level", "error"])
    }

    /// Read, Observe and a notification after the client's shell records a temperature, then De-register at the
    /// end of the client's input.
    static func readObserveDeregister(_ server: ChildProcess, _ client: ChildProcess, endpoint: String) async throws {
        server.send(#"\#(endpoint) Read {"id":"/3/0/0"}"#)
        let read = try await server.line { $0["method"]?.stringValue == "Read" }
        #expect(read["result"]?.stringValue == "CONTENT")
        #expect(read["value"]?.stringValue == "swift-lwm2m")
        server.send(#"\#(endpoint) Observe {"id":"/3303/0/5700"}"#)
        let observe = try await server.line { $0["method"]?.stringValue == "Observe" }
        #expect(observe["result"]?.stringValue == "CONTENT")
        client.send("temp 24.5")
        let notification = try await server.line {
            $0["event"]?.stringValue == "notification" && $0["value"] == .double(24.5)
        }
        #expect(notification["endpoint"]?.stringValue == endpoint)
        try client.closeInput()
        let gone = try await server.line { $0["event"]?.stringValue == "deregistered" }
        #expect(gone["endpoint"]?.stringValue == endpoint)
    }

    @Test(
        "PSK: --psk on the server, --psk-identity/--psk-key on the client: register, read, observe, de-register",
        .enabled(if: serverBinary != nil && clientBinary != nil, "lwm2m-server / lwm2m-client are not built"))
    func psk() async throws {
        let (server, address) = try await Self.server(["--psk", "dev1:dev1-id:\(Self.key1)"])
        let client = try Self.client([
            "--server", address, "--endpoint", "dev1", "--psk-identity", "dev1-id", "--psk-key", Self.key1,
        ])
        defer { client.kill() }
        let registered = try await server.line { $0["event"]?.stringValue == "registered" }
        #expect(registered["endpoint"]?.stringValue == "dev1")
        #expect(registered["security"]?.stringValue == "psk")
        #expect(registered["identity"]?.stringValue == "dev1-id")
        try await Self.readObserveDeregister(server, client, endpoint: "dev1")
        try server.closeInput()
    }

    @Test(
        "Certificates: --cert/--key/--ca on both sides (the client stores DER in /0): register, read, observe",
        .enabled(if: serverBinary != nil && clientBinary != nil, "lwm2m-server / lwm2m-client are not built"))
    func certificates() async throws {
        let pki = TestPKI.shared
        let file = pki.directory.appendingPathComponent("client-accounts-security.json")
        try #"{"endpoints": {"device-1": {"x509": {"commonName": "device-1"}}}}"#.write(to: file, atomically: true, encoding: .utf8)
        let (server, address) = try await Self.server([
            "--security", file.path, "--cert", pki.path("server.pem"), "--key", pki.path("server.key"),
            "--ca", pki.path("ca.pem"),
        ])
        let client = try Self.client([
            "--server", address, "--endpoint", "device-1", "--cert", pki.path("device.pem"),
            "--key", pki.path("device.key"), "--ca", pki.path("ca.pem"),
        ])
        defer { client.kill() }
        let registered = try await server.line { $0["event"]?.stringValue == "registered" }
        #expect(registered["endpoint"]?.stringValue == "device-1")
        #expect(registered["security"]?.stringValue == "x509")
        try await Self.readObserveDeregister(server, client, endpoint: "device-1")
        try server.closeInput()
    }

    @Test(
        "A wrong key never registers; the credentials of dev1 cannot register dev2",
        .enabled(if: serverBinary != nil && clientBinary != nil, "lwm2m-server / lwm2m-client are not built"))
    func refused() async throws {
        let (server, address) = try await Self.server([
            "--psk", "dev1:dev1-id:\(Self.key1)", "--psk", "dev2:dev2-id:\(Self.key2)",
        ])
        // Wrong key: the handshake fails (a timeout, as DTLS drops what it cannot authenticate).
        let wrong = try Self.client([
            "--server", address, "--endpoint", "dev2", "--psk-identity", "dev2-id", "--psk-key", Self.key1,
            "--dtls-timeout", "2",
        ])
        defer { wrong.kill() }
        let failure = try await wrong.line { $0.stringValue?.contains("REGISTRATION_FAILURE") == true }
        #expect(failure.stringValue?.contains("handshake") == true)

        // dev1's credentials for endpoint dev2: the handshake succeeds, the Register gets 4.03.
        let impostor = try Self.client([
            "--server", address, "--endpoint", "dev2", "--psk-identity", "dev1-id", "--psk-key", Self.key1,
        ])
        defer { impostor.kill() }
        _ = try await impostor.line { $0.stringValue == "EVENT REGISTRATION_FAILURE" }

        server.send("clients")
        let clients = try await server.line { $0["clients"] != nil }
        #expect(clients["clients"] == .array([]))
        #expect(wrong.process.isRunning)
        try server.closeInput()
    }
}
