import LwM2MTestPKI
import ClientKit
import CoAPCore
import Codecs
import DTLSTransport
import LwM2MModel
import NIOCore
import ServerKit
import Testing

@Suite("LwM2MServer on CoAP and CoAPS at once with a security store, ClientKit devices on both")
struct SecureServerClientTests {
    @Test("a DTLS-PSK device and a NoSec device register on one server; downlinks reach each on its transport")
    func bothTransports() async throws {
        let key = Array("composite-key".utf8)
        let security = try LwM2MInMemorySecurityStore([.psk(endpoint: "secure1", identity: "secure1-id", key: key)])
        let registry = LwM2MRegistry.builtIn
        let udp = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let dtls = try await DTLSServerTransport.bind(
            host: "127.0.0.1", port: 0, configuration: .server(psk: DTLSClosurePSKStore { security.pskKey(identity: $0) }))
        var configuration = LwM2MServer.Configuration()
        configuration.registration.security = security
        let server = LwM2MServer(
            transport: CoAPCompositeTransport([udp, dtls]), definitions: registry, codec: LwM2MCodec(definitions: registry),
            configuration: configuration)
        let events = Recorder(server.events)
        await server.start()

        func device(_ name: String, uri: String, mode: LwM2MSecurityMode, identity: [UInt8], secret: [UInt8])
            throws -> LwM2MClientRuntime
        {
            let tree = LwM2MObjectTree(definitions: registry)
            try LwM2MStandardObjects.installSecurity(
                in: tree, serverURI: uri, shortServerID: 1, mode: mode, publicKeyOrIdentity: identity, secretKey: secret)
            try LwM2MStandardObjects.installServer(in: tree, shortServerID: 1, lifetime: 300)
            try LwM2MStandardObjects.installDevice(in: tree)
            return LwM2MClientRuntime(
                configuration: .init(registration: .init(endpointName: name, lifetime: 300), maximumConnectionAttempts: 1),
                tree: tree, transports: LwM2MNetworkTransportFactory(handshakeTimeout: .seconds(10)))
        }
        let secure = try device(
            "secure1", uri: "coaps://127.0.0.1:\(dtls.localAddress.port!)", mode: .preSharedKey,
            identity: Array("secure1-id".utf8), secret: key)
        let plain = try device(
            "plain1", uri: "coap://127.0.0.1:\(udp.localAddress.port!)", mode: .noSecurity, identity: [], secret: [])
        await secure.start()
        await plain.start()
        func registered(_ name: String) async throws -> Registration {
            let event = try await DTLSBench.wait(events) { $0.endpoint == name }
            guard case .registered(let r, _) = event else { throw TimeoutError() }
            return r
        }
        #expect(try await registered("secure1").identity == .psk(identity: "secure1-id"))
        #expect(try await registered("plain1").identity == nil)

        for name in ["secure1", "plain1"] {
            let manufacturer = try await server.read(endpoint: name, path: .resource(3, 0, 0))
            #expect(manufacturer.singleValue != nil, "\(name)")
        }
        await secure.close()
        await plain.close()
        await server.close()
    }
}
