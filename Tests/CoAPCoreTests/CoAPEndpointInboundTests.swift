@testable import CoAPCore
import LwM2MTestPKI
import NIOCore
import Synchronization
import Testing

/// The peers an inbound-message handler saw.
private final class SeenPeers: Sendable {
    let peers = Mutex<[SocketAddress]>([])
    var all: [SocketAddress] { peers.withLock { $0 } }
}

@Suite("CoAPEndpoint inbound-message hook and synchronous token release")
struct CoAPEndpointInboundTests {
    @Test("The inbound hook sees requests, pings and responses from a peer, but not malformed datagrams; nil removes it")
    func inboundHook() async throws {
        let clock = CoAPVirtualClock()
        let network = CoAPSimulatedNetwork(clock: clock, seed: 5)
        let server = CoAPEndpoint(transport: network.makeTransport(), configuration: .init(seed: 1), clock: clock)
        let client = CoAPEndpoint(transport: network.makeTransport(), configuration: .init(seed: 2), clock: clock)
        let raw = network.makeTransport()
        await server.register("/hello") { _ in .response(.content, text: "hi") }
        let seen = SeenPeers()
        await server.onInboundMessage { peer, identity in
            #expect(identity == nil)
            seen.peers.withLock { $0.append(peer) }
        }
        let reply = try await withTimeout { try await client.request(.request(.get, path: "/hello"), to: server.localAddress) }
        #expect(reply.code == .content)
        try await withTimeout { try await client.ping(server.localAddress) }
        #expect(seen.all == [client.localAddress, client.localAddress])

        // A datagram that is not CoAP (version 0) is not a message from the peer.
        raw.send(CoAPDatagram(remote: server.localAddress, data: ByteBuffer(bytes: [0x00, 0x01, 0x02, 0x03])))
        // The server's own request to the client: the client's ACK is a message the hook sees.
        await client.register("/x") { _ in .response(.changed) }
        _ = try await withTimeout { try await server.request(.request(.post, path: "/x"), to: client.localAddress) }
        #expect(seen.all == [client.localAddress, client.localAddress, client.localAddress])

        await server.onInboundMessage(nil)
        _ = try await withTimeout { try await client.request(.request(.get, path: "/hello"), to: server.localAddress) }
        #expect(seen.all.count == 3)
        await client.close()
        await server.close()
        await raw.close()
    }

    @Test("endResponses frees an observation's token at once: a request reusing it starts right away")
    func endResponsesReleasesToken() async throws {
        let clock = CoAPVirtualClock()
        let network = CoAPSimulatedNetwork(clock: clock, seed: 6)
        let server = CoAPEndpoint(transport: network.makeTransport(), configuration: .init(seed: 3), clock: clock)
        let client = CoAPEndpoint(transport: network.makeTransport(), configuration: .init(seed: 4), clock: clock)
        await server.register("/obs") { _ in .response(.content, text: "1") }
        var observe = CoAPMessage.request(.get, path: "/obs")
        observe.observe = 0
        let stream = await client.responses(for: observe, to: server.localAddress)
        var registered: CoAPMessage?
        for try await message in stream {
            registered = message
            break
        }
        let first = try #require(registered)
        #expect(first.observe != nil)

        var deregistration = CoAPMessage.request(.get, path: "/obs")
        deregistration.observe = 1
        deregistration.token = first.token
        let cancel = deregistration
        // While the observation holds the token, a request with it is refused.
        let inUse = await #expect(throws: CoAPExchangeError.self) {
            try await client.request(cancel, to: server.localAddress)
        }
        #expect(inUse?.code == .invalidRequest)

        #expect(await client.endResponses(token: first.token, peer: server.localAddress))
        let response = try await withTimeout { try await client.request(cancel, to: server.localAddress) }
        #expect(response.code == .content)
        #expect(response.token == first.token)
        #expect(await server.observerCount(of: "/obs") == 0)
        // Nothing holds the token any more.
        #expect(await client.endResponses(token: first.token, peer: server.localAddress) == false)
        await client.close()
        await server.close()
    }
}
