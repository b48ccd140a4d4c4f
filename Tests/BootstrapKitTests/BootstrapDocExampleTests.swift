import BootstrapKit
import CoAPCore
import Testing

@Suite("docs/BootstrapKit.md example")
struct BootstrapDocExampleTests {
    @Test("the README example compiles and serves /bs on a real UDP port")
    func example() async throws {
        let store = LwM2MInMemoryBootstrapConfigurationStore(
            default: .noSec(serverURI: "coap://192.0.2.10:5683", lifetime: 300))
        let endpoint = CoAPEndpoint(transport: try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0))
        let server = LwM2MBootstrapServer(endpoint: endpoint, store: store)
        await server.start()
        let client = CoAPEndpoint(transport: try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0))
        let response = try await client.request(.request(.post, path: "/bs", query: ["ep=doc"]), to: endpoint.localAddress)
        #expect(response.code == .changed)
        var started = false
        for await event in server.events {
            print(event)  // e.g. "bootstrap of dev1: write /0/1 -> 2.04"
            if case .started(let name, _) = event { started = name == "doc" }
            break
        }
        #expect(started)
        await server.stop()
        await client.close()
        await endpoint.close()
    }
}
