import CoAPCore
import NIOCore
import Testing

@Suite("NON notifications: paced per peer, outside NSTART")
struct CoAPNonPacingTests {
    let peer = testAddress(20)
    let start = NIODeadline.uptimeNanoseconds(5_000_000_000)

    func notification(_ type: CoAPMessageType, _ token: UInt8) -> CoAPMessage {
        CoAPMessage(type: type, code: .content, messageID: 0, token: CoAPToken([token])!)
    }

    @Test("a CON notification and a request to the same peer do not wait for a NON notification (RFC 7252 4.7)")
    func nonDoesNotHoldNSTART() throws {
        var layer = CoAPMessageLayer(seed: 1)
        let (_, non) = layer.send(notification(.nonConfirmable, 1), to: peer, now: start)
        #expect(non.sent.map(\.type) == [.nonConfirmable])
        let (_, con) = layer.send(notification(.confirmable, 2), to: peer, now: start)
        #expect(con.sent.map(\.type) == [.confirmable], "the CON goes at once, not ACK_TIMEOUT later")
        // The CON holds NSTART = 1 now: a request waits for it, a further NON is paced behind the first NON.
        var get = CoAPMessage(type: .confirmable, code: .get, messageID: 0)
        get.uriPath = ["a"]
        #expect(layer.startRequest(get, to: peer, now: start).1.sent.isEmpty)
        #expect(layer.queuedCount(for: peer) == 1)
    }

    @Test("NONs to one peer go out one per ACK_TIMEOUT; .delivered at the end of each interval; other peers unaffected")
    func nonPacing() throws {
        var layer = CoAPMessageLayer(seed: 1)
        let (first, a) = layer.send(notification(.nonConfirmable, 1), to: peer, now: start)
        let (second, b) = layer.send(notification(.nonConfirmable, 2), to: peer, now: start)
        let (_, other) = layer.send(notification(.nonConfirmable, 3), to: testAddress(21), now: start)
        #expect(a.sent.count == 1 && b.sent.isEmpty && other.sent.count == 1)
        #expect(layer.queuedCount(for: peer) == 1)
        // The first NON's interval ends within ACK_TIMEOUT * ACK_RANDOM_FACTOR (2 to 3 s): then the second goes.
        var now = start
        var delivered: [CoAPExchangeID] = []
        var sentSecondAt: NIODeadline?
        while sentSecondAt == nil, let deadline = layer.nextDeadline, deadline < start + .seconds(10) {
            now = deadline
            let out = layer.advance(to: now)
            delivered += out.delivered
            if out.sent.contains(where: { $0.token == CoAPToken([2])! }) { sentSecondAt = now }
        }
        let at = try #require(sentSecondAt)
        #expect(at - start >= .seconds(2) && at - start <= .seconds(3))
        #expect(delivered.contains(first) && !delivered.contains(second))
        #expect(layer.queuedCount(for: peer) == 0)
    }
}
