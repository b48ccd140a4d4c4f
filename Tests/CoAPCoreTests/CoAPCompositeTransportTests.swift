import CoAPCore
import NIOCore
import Testing

@Suite("Composite transport (several listeners under one endpoint)")
struct CoAPCompositeTransportTests {
    @Test("inbound merges both transports; answers leave on the transport the peer was last heard on")
    func routing() async throws {
        let network = CoAPSimulatedNetwork(clock: CoAPVirtualClock())
        let plain = network.makeTransport()
        let secure = network.makeTransport()
        let composite = CoAPCompositeTransport([plain, secure])
        #expect(composite.localAddress == plain.localAddress)
        let peerA = network.makeTransport()
        let peerB = network.makeTransport(peerIdentity: .psk(identity: "b"))
        var inbound = composite.inbound.makeAsyncIterator()
        var atA = peerA.inbound.makeAsyncIterator()
        var atB = peerB.inbound.makeAsyncIterator()

        peerA.send(CoAPDatagram(remote: plain.localAddress, data: ByteBuffer(string: "a1")))
        peerB.send(CoAPDatagram(remote: secure.localAddress, data: ByteBuffer(string: "b1")))
        let first = try #require(await inbound.next())
        let second = try #require(await inbound.next())
        let byText = Dictionary(uniqueKeysWithValues: [first, second].map { (String(buffer: $0.data), $0) })
        #expect(byText["a1"]?.remote == peerA.localAddress)
        #expect(byText["a1"]?.peerIdentity == nil)
        #expect(byText["b1"]?.remote == peerB.localAddress)
        #expect(byText["b1"]?.peerIdentity == .psk(identity: "b"))

        composite.send(CoAPDatagram(remote: peerB.localAddress, data: ByteBuffer(string: "to b")))
        composite.send(CoAPDatagram(remote: peerA.localAddress, data: ByteBuffer(string: "to a")))
        let replyB = try #require(await atB.next())
        #expect(String(buffer: replyB.data) == "to b")
        #expect(replyB.remote == secure.localAddress)
        let replyA = try #require(await atA.next())
        #expect(String(buffer: replyA.data) == "to a")
        #expect(replyA.remote == plain.localAddress)

        // Peer B now talks on the first transport: its route goes back to it.
        peerB.send(CoAPDatagram(remote: plain.localAddress, data: ByteBuffer(string: "b2")))
        #expect(String(buffer: try #require(await inbound.next()).data) == "b2")
        composite.send(CoAPDatagram(remote: peerB.localAddress, data: ByteBuffer(string: "to b again")))
        #expect(try #require(await atB.next()).remote == plain.localAddress)

        await composite.close()
        #expect(await inbound.next() == nil)
    }
}
