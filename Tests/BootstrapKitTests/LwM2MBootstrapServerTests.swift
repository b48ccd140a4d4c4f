import LwM2MTestPKI
import BootstrapKit
import CoAPCore
import Codecs
import LwM2MModel
import NIOCore
import Synchronization
import Testing

@Suite("Bootstrap server over the simulated network")
struct LwM2MBootstrapServerTests {
    let clock = CoAPVirtualClock()
    let network: CoAPSimulatedNetwork
    let serverEndpoint: CoAPEndpoint
    let clientEndpoint: CoAPEndpoint

    init() {
        network = CoAPSimulatedNetwork(clock: clock, seed: 3)
        serverEndpoint = CoAPEndpoint(transport: network.makeTransport(), configuration: .init(seed: 1), clock: clock)
        clientEndpoint = CoAPEndpoint(transport: network.makeTransport(), configuration: .init(seed: 2), clock: clock)
    }

    func makeServer(_ store: LwM2MInMemoryBootstrapConfigurationStore) async -> LwM2MBootstrapServer {
        let server = LwM2MBootstrapServer(endpoint: serverEndpoint, store: store, configuration: .init(stepTimeout: .seconds(30)))
        await server.start()
        return server
    }

    func bootstrapRequest(_ query: [String]) async throws -> CoAPMessage {
        try await clientEndpoint.request(.request(.post, path: "/bs", query: query), to: serverEndpoint.localAddress)
    }

    @Test("POST /bs?ep=dev1 -> 2.04, then deletes, writes and Finish in lock-step; events in order")
    func happyPath() async throws {
        let store = LwM2MInMemoryBootstrapConfigurationStore(default: .noSec(serverURI: "coap://192.0.2.1:5683"))
        let server = await makeServer(store)
        let client = ScriptedClient(endpoint: clientEndpoint)
        await client.install()
        let response = try await bootstrapRequest(["ep=dev1"])
        #expect(response.code == .changed)
        let events = try await withTimeout {
            var seen: [LwM2MBootstrapEvent] = []
            for await event in server.events {
                seen.append(event)
                if event.isTerminal { break }
            }
            return seen
        }
        #expect(events.map(\.description) == [
            "bootstrap of dev1 started from 10.0.0.3:5683",
            "bootstrap of dev1: delete /0 -> 2.02", "bootstrap of dev1: delete /1 -> 2.02",
            "bootstrap of dev1: write /0/1 -> 2.04", "bootstrap of dev1: write /1/0 -> 2.04",
            "bootstrap of dev1: finish -> 2.04", "bootstrap of dev1 finished (5 steps)",
        ])
        let requests = client.requests
        #expect(requests.map { "\($0.method) \($0.path)" } == [
            "\(CoAPCode.delete) /0", "\(CoAPCode.delete) /1", "\(CoAPCode.put) /0/1", "\(CoAPCode.put) /1/0",
            "\(CoAPCode.post) /bs",
        ])
        #expect(requests[3].contentFormat == .lwm2mTLV)
        #expect(requests[3].payload == [0xC1, 0x00, 0x01, 0xC2, 0x01, 0x01, 0x2C, 0xC1, 0x06, 0x00, 0xC1, 0x07, 0x55])
        #expect(await server.activeEndpoints.isEmpty)
        await clientEndpoint.close()
        await serverEndpoint.close()
    }

    @Test("pct=112 makes the server write SenML CBOR")
    func preferredContentFormat() async throws {
        let store = LwM2MInMemoryBootstrapConfigurationStore(endpoints: ["dev2": .noSec(serverURI: "coap://h:1")])
        let server = await makeServer(store)
        let client = ScriptedClient(endpoint: clientEndpoint)
        await client.install()
        #expect(try await bootstrapRequest(["ep=dev2", "pct=112"]).code == .changed)
        let last = try await withTimeout { await firstEvent(server.events) { $0.isTerminal } }
        guard case .finished = last else { Issue.record("not finished: \(String(describing: last))"); return }
        let writes = client.requests.filter { $0.method == .put }
        #expect(writes.count == 2 && writes.allSatisfy { $0.contentFormat == .senmlCBOR })
        let records = try LwM2MCodec(definitions: LwM2MRegistry.builtIn).decode(records: writes[0].payload, as: .senmlCBOR)
        #expect(records.contains { $0.path == .resource(0, 1, 0) && $0.value == .string("coap://h:1") })
        await clientEndpoint.close()
        await serverEndpoint.close()
    }

    @Test("an error response mid-session fails it and nothing more is sent")
    func errorMidSession() async throws {
        let store = LwM2MInMemoryBootstrapConfigurationStore(default: .noSec(serverURI: "coap://h:1"))
        let server = await makeServer(store)
        let client = ScriptedClient(endpoint: clientEndpoint, answers: ["PUT /0/1": .badRequest])
        await client.install()
        #expect(try await bootstrapRequest(["ep=dev3"]).code == .changed)
        let last = try await withTimeout { await firstEvent(server.events) { $0.isTerminal } }
        guard case .failed(let name, let error) = last else { Issue.record("not failed: \(String(describing: last))"); return }
        #expect(name == "dev3" && error.code == .errorResponse && error.step == .write(.instance(0, 1)))
        #expect(error.responseCode == .badRequest)
        #expect(client.requests.map(\.path) == ["/0", "/1", "/0/1"])
        await clientEndpoint.close()
        await serverEndpoint.close()
    }

    @Test("a client that never answers Finish makes the session fail with a timeout")
    func timeoutAtFinish() async throws {
        let store = LwM2MInMemoryBootstrapConfigurationStore(default: LwM2MBootstrapConfiguration())
        let server = await makeServer(store)
        let client = ScriptedClient(endpoint: clientEndpoint, stallFinish: clock)
        await client.install()
        #expect(try await bootstrapRequest(["ep=dev4"]).code == .changed)
        let waiter = Task { await firstEvent(server.events) { $0.isTerminal } }
        let done = Mutex(false)
        let watcher = Task {
            _ = await waiter.value
            done.withLock { $0 = true }
        }
        let limit = clock.now + .seconds(600)
        while !done.withLock({ $0 }) && clock.now < limit {
            for _ in 0..<20 { await Task.yield() }
            clock.advance(by: .seconds(1))
        }
        _ = await watcher.value
        guard case .failed(_, let error) = await waiter.value else { Issue.record("no failure"); return }
        #expect(error.code == .timeout && error.step == .finish)
        #expect(client.requests.map(\.path) == ["/bs"])
        await clientEndpoint.close()
        await serverEndpoint.close()
    }

    @Test("a new Bootstrap-Request of the same endpoint supersedes the running session")
    func superseded() async throws {
        let store = LwM2MInMemoryBootstrapConfigurationStore(default: LwM2MBootstrapConfiguration())
        let server = await makeServer(store)
        let client = ScriptedClient(endpoint: clientEndpoint, stallFinish: clock)
        await client.install()
        #expect(try await bootstrapRequest(["ep=dev5"]).code == .changed)
        let started = try await withTimeout { await firstEvent(server.events) { if case .started = $0 { true } else { false } } }
        #expect(started?.endpoint == "dev5")
        #expect(try await bootstrapRequest(["ep=dev5"]).code == .changed)
        let failed = try await withTimeout { await firstEvent(server.events) { $0.isTerminal } }
        guard case .failed(let name, let error) = failed else { Issue.record("no failure event"); return }
        #expect(name == "dev5" && error.code == .superseded)
        #expect(await server.activeEndpoints == ["dev5"])
        await server.stop()
        await clientEndpoint.close()
        await serverEndpoint.close()
    }

    @Test("Bootstrap-Requests without a configuration or without ep get 4.00 and a failed event")
    func refused() async throws {
        let store = LwM2MInMemoryBootstrapConfigurationStore()
        let server = await makeServer(store)
        let response = try await bootstrapRequest(["ep=unknown"])
        #expect(response.code == .badRequest)
        #expect(try await bootstrapRequest([]).code == .badRequest)
        #expect(try await bootstrapRequest(["ep=x", "pct=50"]).code == .badRequest)
        let first = try await withTimeout { await firstEvent(server.events) { $0.isTerminal } }
        guard case .failed(let name, let error) = first else { Issue.record("no failure event"); return }
        #expect(name == "unknown" && error.code == .noConfiguration)
        await clientEndpoint.close()
        await serverEndpoint.close()
    }
}
