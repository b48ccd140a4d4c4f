import LwM2MTestPKI
import CoAPCore
import NIOCore
import Testing

@Suite("CoAPCore README example")
struct CoAPDocExampleTests {
    @Test("the docs/CoAPCore.md example runs over UDP loopback")
    func readmeExample() async throws {
        try await withTimeout {
            let transport = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
            let endpoint = CoAPEndpoint(transport: transport)

            await endpoint.register("/sensors/temp", attributes: [.init("rt", "temperature"), .init("obs")]) { request in
                guard request.method == .get else { throw CoAPError.methodNotAllowed() }
                return .response(.content, text: "21.5")
            }

            let response = try await endpoint.request(
                .request(.get, path: "/sensors/temp"), to: transport.localAddress, timeout: .seconds(10))
            #expect(response.code == .content && String(buffer: response.payload) == "21.5")
            let put = try await endpoint.request(.request(.put, path: "/sensors/temp"), to: transport.localAddress)
            #expect(put.code == .methodNotAllowed)
            await endpoint.close()
        }
    }
}
