import ClientKit
import CoAPCore
import Codecs
import DTLSTransport
import Foundation
import LwM2MModel
import LwM2MTestPKI
import NIOCore
import ServerKit
import Testing

/// An in-process `LwM2MServer` on a DTLS server socket (loopback, free port) for `lwm2m-client` processes.
struct DTLSServerForProcess {
    let server: LwM2MServer
    let events: Recorder<LwM2MServerEvent>
    let port: Int

    init(_ configuration: DTLSConfiguration) async throws {
        let registry = LwM2MRegistry.builtIn
        let transport = try await DTLSServerTransport.bind(host: "127.0.0.1", port: 0, configuration: configuration)
        server = LwM2MServer(transport: transport, definitions: registry, codec: LwM2MCodec(definitions: registry))
        events = Recorder(server.events)
        port = transport.localAddress.port!
        await server.start()
    }

    func registered(_ endpoint: String) async throws -> Registration {
        let event = try await DTLSBench.wait(events) {
            if case .registered(let r, _) = $0 { r.endpoint == endpoint } else { false }
        }
        guard case .registered(let registration, _) = event else { throw TimeoutError() }
        return registration
    }

    /// Read, observe, and a notification after the client's shell records a new temperature.
    func readAndObserve(_ endpoint: String, client: ChildProcess) async throws {
        let manufacturer = try await server.read(endpoint: endpoint, path: .resource(3, 0, 0))
        #expect(manufacturer.singleValue == .string("swift-lwm2m"))
        let (observation, _) = try await server.observe(endpoint: endpoint, path: .resource(3303, 0, 5700))
        let notifications = Recorder(await server.notifications(of: observation))
        client.send("temp 24.5")
        let note = try await DTLSBench.wait(notifications) { _ in true }
        #expect(note.content == .node(.resource(3303, 0, 5700), .resource(.single(5700, .float(24.5)))))
    }
}

@Suite("lwm2m-client process over DTLS against an in-process server")
struct ClientProcessDTLSTests {
    static let key: [UInt8] = Array("process-psk-key!".utf8)
    static var hexKey: String { key.map { String(format: "%02x", $0) }.joined() }

    @Test(
        "--psk-identity/--psk-key: register, read, observe",
        .enabled(if: clientBinary != nil, "lwm2m-client is not built"))
    func psk() async throws {
        let server = try await DTLSServerForProcess(.server(psk: DTLSStaticPSKStore(["proc-psk": Self.key])))
        let client = try ChildProcess(clientBinary, [
            "--server", "coaps://127.0.0.1:\(server.port)", "--endpoint", "proc-psk", "--psk-identity", "proc-psk",
            "--psk-key", Self.hexKey, "--log-level", "error",
        ])
        defer { client.kill() }
        _ = try await server.registered("proc-psk")
        try await server.readAndObserve("proc-psk", client: client)
        await server.server.close()
    }

    @Test(
        "--cert/--key/--ca (PEM files, DER in the Security object): register, read, observe",
        .enabled(if: clientBinary != nil, "lwm2m-client is not built"))
    func certificates() async throws {
        let pki = TestPKI.shared
        let server = try await DTLSServerForProcess(DTLSConfiguration(certificates: DTLSCertificateConfiguration(
            certificateChainPEM: pki.serverCertificate, privateKeyPEM: pki.serverKey,
            trustAnchorsPEM: pki.caCertificate, requirePeerCertificate: true)))
        let client = try ChildProcess(clientBinary, [
            "--server", "coaps://127.0.0.1:\(server.port)", "--endpoint", "device-1", "--cert", pki.path("device.pem"),
            "--key", pki.path("device.key"), "--ca", pki.path("ca.pem"), "--log-level", "error",
        ])
        defer { client.kill() }
        _ = try await server.registered("device-1")
        try await server.readAndObserve("device-1", client: client)
        await server.server.close()
    }

    @Test(
        "A wrong PSK: the client reports REGISTRATION_FAILURE, keeps running, and never registers",
        .enabled(if: clientBinary != nil, "lwm2m-client is not built"))
    func wrongKey() async throws {
        let server = try await DTLSServerForProcess(.server(psk: DTLSStaticPSKStore(["proc-bad": Self.key])))
        let client = try ChildProcess(clientBinary, [
            "--server", "coaps://127.0.0.1:\(server.port)", "--endpoint", "proc-bad", "--psk-identity", "proc-bad",
            "--psk-key", "00112233445566778899aabbccddeeff", "--dtls-timeout", "2", "--log-level", "error",
        ])
        defer { client.kill() }
        let failure = try await client.line { $0.stringValue?.contains("REGISTRATION_FAILURE") == true }
        #expect(failure.stringValue?.contains("SSID 1") == true)
        #expect(client.process.isRunning)
        #expect(server.events.all.isEmpty)
        #expect(await server.server.registration(endpoint: "proc-bad") == nil)
        await server.server.close()
    }
}
