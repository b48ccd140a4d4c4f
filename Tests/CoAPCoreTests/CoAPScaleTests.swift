@testable import CoAPCore
import NIOCore
import Testing

@Suite("CoAP message layer at scale")
struct CoAPScaleTests {
    @Test("10,000 peers (debug build; the benchmark runs 100,000): a server layer answers each one, deduplicates, and forgets them after EXCHANGE_LIFETIME")
    func manyPeers() throws {
        var server = CoAPMessageLayer(seed: 1)
        var client = CoAPMessageLayer(seed: 2)
        let serverAddress = try SocketAddress(ipAddress: "10.255.255.1", port: 5683)
        let peers = 10_000
        var now = t0
        var answered = 0
        var replies: [CoAPExchangeID] = []
        for k in 0..<peers {
            // Distinct peers: 10.x.y.z:port.
            let peer = try SocketAddress(ipAddress: "10.\(k >> 16).\((k >> 8) & 0xFF).\(k & 0xFF)", port: 40_000 + k % 1000)
            let (id, out) = client.startRequest(.request(.post, path: "/rd", query: ["ep=dev\(k)"]), to: serverAddress, now: now)
            let atServer = server.receive(out.datagrams[0].data, from: peer, now: now)
            guard let (_, exchange) = atServer.requests.first else { continue }
            let answer = server.respond(to: exchange, with: .response(.created), now: now)
            answered += 1
            // Feed the piggybacked ACK back to the client layer (it only knows one server address).
            let back = client.receive(answer.datagrams[0].data, from: serverAddress, now: now)
            if back.responses.first?.0 == id { replies.append(id) }
            if k % 1000 == 0 { now = now + .milliseconds(10) }
        }
        #expect(answered == peers)
        #expect(replies.count == peers)
        #expect(server.deduplicationCount == peers)
        #expect(client.exchangeCount == 0)
        // Finished requests leave stale response timers behind; compaction keeps them bounded.
        #expect(client.timerCount <= 2 * 4_096 + 2)
        _ = server.advance(to: now + .seconds(248))
        #expect(server.deduplicationCount == 0)
    }
}
