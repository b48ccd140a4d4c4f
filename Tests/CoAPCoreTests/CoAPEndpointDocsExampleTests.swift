import LwM2MTestPKI
import CoAPCore
import NIOCore
import Synchronization
import Testing

@Suite("docs/CoAPCore-BlockwiseObserve.md endpoint example")
struct CoAPEndpointDocsExampleTests {
    @Test("the endpoint example runs over UDP on 127.0.0.1: a 100 kB Block2 GET and an observation")
    func example() async throws {
        let observed = Mutex<[String]>([])
        let size = Mutex(0)
        try await withTimeout(seconds: 30) {
            // --- the example, as in the docs (prints recorded instead) ---
            let server = CoAPEndpoint(transport: try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0))
            let client = CoAPEndpoint(transport: try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0))
            let temperature = Mutex(21)
            await server.register("/firmware") { _ in .response(.content, payload: ByteBuffer(repeating: 0xAB, count: 100_000)) }
            await server.register("/temp") { _ in .response(.content, text: "\(temperature.withLock { $0 })") }

            let image = try await client.request(.request(.get, path: "/firmware"), to: server.localAddress)
            size.withLock { $0 = image.payload.readableBytes }

            let observation = await client.observe(.request(.get, path: "/temp"), to: server.localAddress)
            for try await notification in observation {
                observed.withLock { $0.append(String(buffer: notification.payload)) }
                if temperature.withLock({ $0 }) == 22 { break }
                temperature.withLock { $0 = 22 }
                await server.notifyObservers(of: "/temp")
            }
            try await observation.cancel()
            // --- end of the example ---
            #expect(await server.observerCount(of: "/temp") == 0)
            await client.close()
            await server.close()
        }
        #expect(size.withLock { $0 } == 100_000)
        #expect(observed.withLock { $0 } == ["21", "22"])
    }
}
