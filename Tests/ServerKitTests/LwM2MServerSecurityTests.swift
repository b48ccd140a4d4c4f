import CoAPCore
import Codecs
import LwM2MModel
import NIOCore
import Testing

@testable import ServerKit

@Suite("LwM2MServer over a simulated network with peer identities")
struct LwM2MServerSecurityTests {
    @Test("a simulated DTLS peer registers as its own endpoint (2.01, registered event) but not as another (4.03)")
    func lockStep() async throws {
        let clock = CoAPVirtualClock()
        let network = CoAPSimulatedNetwork(clock: clock, seed: 5)
        let store = try LwM2MInMemorySecurityStore([.psk(endpoint: "dev1", identity: "dev1-id", key: [1])])
        var configuration = LwM2MServer.Configuration()
        configuration.registration.security = store
        let registry = LwM2MRegistry()
        let server = LwM2MServer(
            transport: network.makeTransport(), definitions: registry, codec: LwM2MCodec(definitions: registry),
            configuration: configuration, clock: clock)
        await server.start()
        let secure = CoAPEndpoint(
            transport: network.makeTransport(peerIdentity: .psk(identity: "dev1-id")), configuration: .init(seed: 2),
            clock: clock)
        let plain = CoAPEndpoint(transport: network.makeTransport(), configuration: .init(seed: 3), clock: clock)
        func register(_ endpoint: CoAPEndpoint, _ name: String) async throws -> CoAPMessage {
            var message = CoAPMessage.request(.post, path: "/rd", query: ["ep=\(name)", "lt=60"])
            message.contentFormat = .linkFormat
            message.payload = ByteBuffer(string: "</3/0>")
            return try await endpoint.request(message, to: server.localAddress)
        }
        #expect(try await register(secure, "dev2").code == .forbidden)
        #expect(try await register(plain, "dev1").code == .forbidden)
        #expect(try await register(secure, "dev1").code == .created)
        var events = server.events.makeAsyncIterator()
        guard case .registered(let r, _)? = await events.next() else {
            Issue.record("no registered event")
            return
        }
        #expect(r.endpoint == "dev1")
        #expect(r.identity == .psk(identity: "dev1-id"))
        #expect(await server.registrations().count == 1)
        await server.close()
    }

    @Test("without a store, a NoSec peer cannot replace a live DTLS registration (4.03); the DTLS peer still can")
    func noDowngradeWithoutStore() async throws {
        let clock = CoAPVirtualClock()
        let network = CoAPSimulatedNetwork(clock: clock, seed: 6)
        let registry = LwM2MRegistry()
        let server = LwM2MServer(
            transport: network.makeTransport(), definitions: registry, codec: LwM2MCodec(definitions: registry),
            clock: clock)
        await server.start()
        let secure = CoAPEndpoint(
            transport: network.makeTransport(peerIdentity: .psk(identity: "dev1-id")), configuration: .init(seed: 2),
            clock: clock)
        let other = CoAPEndpoint(
            transport: network.makeTransport(peerIdentity: .certificate(commonName: "dev1")),
            configuration: .init(seed: 4), clock: clock)
        let plain = CoAPEndpoint(transport: network.makeTransport(), configuration: .init(seed: 3), clock: clock)
        func register(_ endpoint: CoAPEndpoint) async throws -> CoAPMessage {
            var message = CoAPMessage.request(.post, path: "/rd", query: ["ep=dev1", "lt=60"])
            message.contentFormat = .linkFormat
            message.payload = ByteBuffer(string: "</3/0>")
            return try await endpoint.request(message, to: server.localAddress)
        }
        let first = try await register(secure)
        #expect(first.code == .created)
        #expect(try await register(plain).code == .forbidden)
        #expect(try await register(other).code == .forbidden)
        let registrations = await server.registrations()
        #expect(registrations.count == 1)
        #expect(registrations.first?.identity == .psk(identity: "dev1-id"))
        #expect(registrations.first.map { ["rd", $0.id] } == first.locationPath)
        let again = try await register(secure)
        #expect(again.code == .created)
        #expect(again.locationPath != first.locationPath)
        #expect(await server.registrations().map(\.identity) == [.psk(identity: "dev1-id")])
        await server.close()
    }
}
