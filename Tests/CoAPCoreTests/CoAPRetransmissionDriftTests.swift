import NIOCore
import Testing

@testable import CoAPCore

@Suite("CoAP retransmission schedule under late timers")
struct CoAPRetransmissionDriftTests {
    @Test("Late timers do not push later retransmissions back; a stall of a whole timeout restarts from now")
    func scheduleFromDeadlines() {
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        let parameters = CoAPTransmissionParameters(ackTimeout: .seconds(2), ackRandomFactor: 1, maxRetransmit: 4)
        var layer = CoAPMessageLayer(configuration: .init(parameters: parameters), seed: 3)
        _ = layer.startRequest(.request(.get, path: "/a"), to: testAddress(2), now: start)
        // Each timer fires 400 ms late; retransmissions still go out on the RFC 7252 schedule 2, 6, 14, 30 s.
        for offset in [2, 6, 14] {
            #expect(layer.nextDeadline == start + .seconds(Int64(offset)))
            let sent = layer.advance(to: start + .seconds(Int64(offset)) + .milliseconds(400)).sent
            #expect(sent.count == 1)
        }
        #expect(layer.nextDeadline == start + .seconds(30))
        // A stall longer than the 16 s timeout: one retransmission, the next timeout counts from now.
        let stalled = start + .seconds(30) + .seconds(40)
        #expect(layer.advance(to: stalled).sent.count == 1)
        #expect(layer.nextDeadline == stalled + .seconds(32))
    }
}
