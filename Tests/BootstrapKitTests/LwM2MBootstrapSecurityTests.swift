import LwM2MTestPKI
import BootstrapKit
import CoAPCore
import LwM2MModel
import NIOCore
import Testing

@Suite("Bootstrap server with a security store")
struct LwM2MBootstrapSecurityTests {
    let clock = CoAPVirtualClock()
    let network: CoAPSimulatedNetwork
    let serverEndpoint: CoAPEndpoint

    init() {
        network = CoAPSimulatedNetwork(clock: clock, seed: 4)
        serverEndpoint = CoAPEndpoint(transport: network.makeTransport(), configuration: .init(seed: 1), clock: clock)
    }

    func client(_ identity: CoAPPeerIdentity?, seed: UInt64) -> CoAPEndpoint {
        CoAPEndpoint(transport: network.makeTransport(peerIdentity: identity), configuration: .init(seed: seed), clock: clock)
    }

    @Test("POST /bs only with the endpoint's own credentials: other identity and NoSec get 4.03 and a forbidden event")
    func ownCredentialsOnly() async throws {
        let security = try LwM2MInMemorySecurityStore([
            .psk(endpoint: "dev1", identity: "dev1-id", key: [1]), .psk(endpoint: "dev2", identity: "dev2-id", key: [2]),
        ])
        let server = LwM2MBootstrapServer(
            endpoint: serverEndpoint,
            store: LwM2MInMemoryBootstrapConfigurationStore(default: .noSec(serverURI: "coap://192.0.2.1:5683")),
            security: security)
        await server.start()
        let dev1 = client(.psk(identity: "dev1-id"), seed: 2)
        let plain = client(nil, seed: 3)
        func bootstrap(_ endpoint: CoAPEndpoint, _ name: String) async throws -> CoAPCode {
            try await endpoint.request(.request(.post, path: "/bs", query: ["ep=\(name)"]), to: serverEndpoint.localAddress)
                .code
        }
        #expect(try await bootstrap(dev1, "dev2") == .forbidden)
        let refused = try await withTimeout { await firstEvent(server.events) { $0.isTerminal } }
        guard case .failed(let name, let error)? = refused else {
            Issue.record("no failure event")
            return
        }
        #expect(name == "dev2")
        #expect(error.code == .forbidden)
        #expect(error.reason == "PSK identity dev1-id does not belong to endpoint dev2")
        #expect(try await bootstrap(plain, "dev1") == .forbidden)
        #expect(await server.activeEndpoints.isEmpty)

        let scripted = ScriptedClient(endpoint: dev1)
        await scripted.install()
        #expect(try await bootstrap(dev1, "dev1") == .changed)
        let started = try await withTimeout {
            await firstEvent(server.events) { if case .started = $0 { true } else { false } }
        }
        #expect(started?.endpoint == "dev1")
        await server.stop()
    }
}
