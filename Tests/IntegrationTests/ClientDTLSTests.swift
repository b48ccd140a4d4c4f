import ClientKit
import CoAPCore
import Codecs
import DTLSTransport
import LwM2MModel
import LwM2MTestPKI
import NIOCore
import ServerKit
import Synchronization
import Testing

/// An `LwM2MServer` on a `DTLSServerTransport` (loopback, port 0) and a device whose Security object drives
/// `LwM2MClientRuntime` over `DTLSClientTransport`.
struct DTLSBench {
    let server: LwM2MServer
    let serverEvents: Recorder<LwM2MServerEvent>
    let tree: LwM2MObjectTree
    let sensor: LwM2MTemperatureSensor
    let runtime: LwM2MClientRuntime
    let runtimeEvents: Recorder<LwM2MClientRuntimeEvent>
    let endpoint: String

    init(
        serverConfiguration: DTLSConfiguration, endpoint: String, mode: LwM2MSecurityMode, identity: [UInt8],
        serverKey: [UInt8] = [], secret: [UInt8], handshakeTimeout: TimeAmount = .seconds(10)
    ) async throws {
        let registry = LwM2MRegistry.builtIn
        let transport = try await DTLSServerTransport.bind(host: "127.0.0.1", port: 0, configuration: serverConfiguration)
        server = LwM2MServer(transport: transport, definitions: registry, codec: LwM2MCodec(definitions: registry))
        serverEvents = Recorder(server.events)
        await server.start()
        self.endpoint = endpoint
        tree = LwM2MObjectTree(definitions: registry)
        try LwM2MStandardObjects.installSecurity(
            in: tree, serverURI: "coaps://127.0.0.1:\(transport.localAddress.port!)", shortServerID: 1, mode: mode,
            publicKeyOrIdentity: identity, serverPublicKey: serverKey, secretKey: secret)
        try LwM2MStandardObjects.installServer(in: tree, shortServerID: 1, lifetime: 300)
        try LwM2MStandardObjects.installDevice(in: tree)
        sensor = try LwM2MTemperatureSensor(tree: tree, initial: 20)
        runtime = LwM2MClientRuntime(
            configuration: .init(registration: .init(endpointName: endpoint, lifetime: 300), maximumConnectionAttempts: 1),
            tree: tree, transports: LwM2MNetworkTransportFactory(handshakeTimeout: handshakeTimeout))
        runtimeEvents = Recorder(runtime.events)
    }

    /// Waits (at most `seconds` of real time: a hang guard) until `events` holds a match.
    static func wait<E: Sendable>(
        _ events: Recorder<E>, seconds: Double = 30, _ match: @escaping @Sendable (E) -> Bool
    ) async throws -> E {
        try await withTimeout(seconds: seconds) {
            while true {
                try Task.checkCancellation()
                if let e = events.all.first(where: match) { return e }
                await Task.yield()
            }
        }
    }

    /// Starts the runtime and waits for the server's `registered` event.
    func register() async throws -> Registration {
        await runtime.start()
        let event = try await Self.wait(serverEvents) { if case .registered = $0 { true } else { false } }
        guard case .registered(let registration, _) = event else { throw TimeoutError() }
        return registration
    }

    /// Read a resource, observe the sensor and see a notification after a new reading.
    func readAndObserve() async throws {
        let value = try await server.read(endpoint: endpoint, path: .resource(3, 0, 0))
        #expect(value.singleValue == tree.value(at: .resource(3, 0, 0)))
        let (observation, first) = try await server.observe(endpoint: endpoint, path: .resource(3303, 0, 5700))
        #expect(first.singleValue == .float(20))
        let notifications = Recorder(await server.notifications(of: observation))
        try sensor.record(26.5)
        let note = try await Self.wait(notifications) { _ in true }
        #expect(note.content == .node(.resource(3303, 0, 5700), .resource(.single(5700, .float(26.5)))))
    }

    func close() async {
        await runtime.close()
        await server.close()
    }
}

@Suite("ClientKit over DTLS against ServerKit (loopback)")
struct ClientDTLSTests {
    static let key: [UInt8] = Array("0123456789abcdef".utf8)

    @Test("PSK from the Security object: register, read, observe")
    func psk() async throws {
        let bench = try await DTLSBench(
            serverConfiguration: .server(psk: DTLSStaticPSKStore(["dev-psk": Self.key])), endpoint: "dev-psk",
            mode: .preSharedKey, identity: Array("dev-psk".utf8), secret: Self.key)
        let registration = try await bench.register()
        #expect(registration.endpoint == "dev-psk")
        try await bench.readAndObserve()
        await bench.close()
    }

    @Test("Certificates from the Security object (DER): register, read, observe")
    func certificates() async throws {
        let pki = TestPKI.shared
        let server = DTLSConfiguration(certificates: DTLSCertificateConfiguration(
            certificateChainPEM: pki.serverCertificate, privateKeyPEM: pki.serverKey,
            trustAnchorsPEM: pki.caCertificate, requirePeerCertificate: true))
        let bench = try await DTLSBench(
            serverConfiguration: server, endpoint: "device-1", mode: .certificate,
            identity: try LwM2MPEM.der(fromPEM: pki.deviceCertificate),
            serverKey: try LwM2MPEM.der(fromPEM: pki.caCertificate),
            secret: try LwM2MPEM.der(fromPEM: pki.deviceKey))
        let registration = try await bench.register()
        #expect(registration.endpoint == "device-1")
        try await bench.readAndObserve()
        await bench.close()
    }

    @Test("A wrong PSK is a registration failure event, then NETWORK_ERROR; nothing registers, nothing crashes")
    func wrongKey() async throws {
        let bench = try await DTLSBench(
            serverConfiguration: .server(psk: DTLSStaticPSKStore(["dev-bad": Self.key])), endpoint: "dev-bad",
            mode: .preSharedKey, identity: Array("dev-bad".utf8), secret: Array("fedcba9876543210".utf8),
            handshakeTimeout: .seconds(2))
        await bench.runtime.start()
        let failure = try await DTLSBench.wait(bench.runtimeEvents) { $0.event == .registrationFailure }
        #expect(failure.shortServerID == 1)
        #expect(failure.reason?.contains("handshake") == true)
        _ = try await DTLSBench.wait(bench.runtimeEvents) { $0.event == .networkError }
        #expect(await bench.runtime.state(of: 1) == .failed)
        #expect(bench.serverEvents.all.isEmpty)
        await bench.close()
    }

    @Test("coaps:// with NoSec and coap:// with PSK are configuration errors")
    func configurationErrors() async throws {
        let factory = LwM2MNetworkTransportFactory()
        let nosec = LwM2MServerAccount(
            shortServerID: 1, securityInstanceID: 0, serverInstanceID: 0, serverURI: "coaps://127.0.0.1:5999")
        await #expect(throws: LwM2MConnectionError(code: .invalidConfiguration, reason: "")) {
            _ = try await factory.connect(nosec)
        }
        let plain = LwM2MServerAccount(
            shortServerID: 1, securityInstanceID: 0, serverInstanceID: 0, serverURI: "coap://127.0.0.1:5999",
            securityMode: .preSharedKey, publicKeyOrIdentity: [1], secretKey: [2])
        await #expect(throws: LwM2MConnectionError(code: .invalidConfiguration, reason: "")) {
            _ = try await factory.connect(plain)
        }
        let rpk = LwM2MServerAccount(
            shortServerID: 1, securityInstanceID: 0, serverInstanceID: 0, serverURI: "coaps://127.0.0.1:5999",
            securityMode: .rawPublicKey)
        await #expect(throws: LwM2MConnectionError(code: .unsupportedSecurityMode, reason: "")) {
            _ = try await factory.connect(rpk)
        }
    }
}
