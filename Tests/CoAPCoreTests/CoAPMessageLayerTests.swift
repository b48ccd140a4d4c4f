@testable import CoAPCore
import NIOCore
import Testing

@Suite("CoAP message layer (state machine on virtual time)")
struct CoAPMessageLayerTests {
    let client = testAddress(1)
    let server = testAddress(2)

    func get(_ path: String, confirmable: Bool = true) -> CoAPMessage {
        .request(.get, path: path, confirmable: confirmable)
    }

    @Test("CON retransmission: first timeout in [2, 3] s, doubling, give-up after MAX_RETRANSMIT")
    func retransmissionTiming() throws {
        for seed in UInt64(1)...20 {
            var layer = CoAPMessageLayer(seed: seed)
            let (id, actions) = layer.startRequest(get("/a"), to: server, now: t0)
            let first = try #require(actions.sent.first)
            #expect(first.type == .confirmable)
            var sendTimes: [NIODeadline] = [t0]
            var failure: CoAPExchangeError?
            var now = t0
            while failure == nil, let next = layer.nextDeadline {
                now = next
                let out = layer.advance(to: now)
                for m in out.sent {
                    #expect(m == first, "a retransmission carries the same bytes and message ID")
                    sendTimes.append(now)
                }
                if let (fid, error) = out.failures.first {
                    #expect(fid == id)
                    failure = error
                }
            }
            #expect(failure?.code == .transmissionTimeout)
            #expect(sendTimes.count == 5, "1 transmission + MAX_RETRANSMIT (4) retransmissions")
            let firstTimeout = sendTimes[1] - sendTimes[0]
            #expect(firstTimeout >= .seconds(2) && firstTimeout <= .seconds(3))
            for k in 2..<sendTimes.count {
                #expect(sendTimes[k] - sendTimes[k - 1] == (sendTimes[k - 1] - sendTimes[k - 2]) * 2)
            }
            // Give-up after the last timeout: 31 x the initial timeout, within MAX_TRANSMIT_WAIT (93 s).
            #expect(now - t0 == firstTimeout * 31)
            #expect(now - t0 <= CoAPTransmissionParameters.default.maxTransmitWait)
            #expect(layer.exchangeCount == 0)
        }
    }

    @Test("configurable parameters: ACK_TIMEOUT 1 s, factor 1, MAX_RETRANSMIT 2")
    func customParameters() {
        let parameters = CoAPTransmissionParameters(ackTimeout: .seconds(1), ackRandomFactor: 1, maxRetransmit: 2)
        var layer = CoAPMessageLayer(configuration: .init(parameters: parameters), seed: 7)
        _ = layer.startRequest(get("/a"), to: server, now: t0)
        #expect(layer.advance(to: t0 + .milliseconds(999)).sent.isEmpty)
        #expect(layer.advance(to: t0 + .seconds(1)).sent.count == 1)
        #expect(layer.advance(to: t0 + .seconds(3)).sent.count == 1)
        let last = layer.advance(to: t0 + .seconds(7))
        #expect(last.sent.isEmpty)
        #expect(last.failures.first?.1.code == .transmissionTimeout)
        #expect(parameters.maxTransmitWait == .seconds(7))
        #expect(CoAPTransmissionParameters.default.exchangeLifetime == .seconds(247))
        #expect(CoAPTransmissionParameters.default.nonLifetime == .seconds(145))
        #expect(CoAPTransmissionParameters.default.maxTransmitSpan == .seconds(45))
    }

    @Test("piggybacked response completes the request and stops retransmission")
    func piggybacked() throws {
        var c = CoAPMessageLayer(seed: 1)
        var s = CoAPMessageLayer(seed: 2)
        let (id, out) = c.startRequest(get("/temp"), to: server, now: t0)
        let wire = try #require(out.datagrams.first)
        let atServer = s.receive(wire.data, from: client, now: t0)
        let (request, exchange) = try #require(atServer.requests.first)
        #expect(request.uriPath == ["temp"])
        let answer = s.respond(to: exchange, with: .response(.content, text: "22.5"), now: t0)
        let ack = try #require(answer.sent.first)
        #expect(ack.type == .acknowledgement && ack.messageID == request.messageID && ack.token == request.token)
        let done = c.receive(answer.datagrams[0].data, from: server, now: t0 + .milliseconds(10))
        let (rid, response, isFinal) = try #require(done.responses.first)
        #expect(rid == id && isFinal && response.payloadBytes == Array("22.5".utf8))
        #expect(c.exchangeCount == 0)
        #expect(c.advance(to: t0 + .seconds(300)).sent.isEmpty)
    }

    @Test("server replays the cached piggybacked response for a duplicate CON, until EXCHANGE_LIFETIME")
    func deduplicationReplay() throws {
        var s = CoAPMessageLayer(seed: 2)
        var request = get("/x")
        request.messageID = 0x1234
        request.token = CoAPToken([1, 2])!
        let wire = request.encoded()
        let first = s.receive(wire, from: client, now: t0)
        let (_, exchange) = try #require(first.requests.first)
        let answer = s.respond(to: exchange, with: .response(.content, text: "v1"), now: t0)
        let duplicate = s.receive(wire, from: client, now: t0 + .seconds(3))
        #expect(duplicate.requests.isEmpty, "a duplicate never reaches the handler")
        #expect(duplicate.datagrams.map { Array($0.data.readableBytesView) } == answer.datagrams.map { Array($0.data.readableBytesView) })
        // The same message ID from another peer is a different message.
        #expect(s.receive(wire, from: testAddress(9), now: t0 + .seconds(3)).requests.count == 1)
        // After EXCHANGE_LIFETIME the entry is gone and the ID is new again.
        _ = s.advance(to: t0 + .seconds(248))
        #expect(s.receive(wire, from: client, now: t0 + .seconds(248)).requests.count == 1)
    }

    @Test("slow handler: empty ACK after the piggyback delay, then a CON separate response")
    func separateResponse() throws {
        var c = CoAPMessageLayer(seed: 1)
        var s = CoAPMessageLayer(seed: 2)
        let (id, out) = c.startRequest(get("/slow"), to: server, now: t0)
        let request = try #require(out.sent.first)
        let (_, exchange) = try #require(s.receive(out.datagrams[0].data, from: client, now: t0).requests.first)
        let later = s.advance(to: t0 + .seconds(1))
        let emptyAck = try #require(later.sent.first)
        #expect(emptyAck.type == .acknowledgement && emptyAck.code == .empty && emptyAck.messageID == request.messageID)
        // The client stops retransmitting but keeps waiting for the response.
        #expect(c.receive(later.datagrams[0].data, from: server, now: t0 + .seconds(1)).responses.isEmpty)
        #expect(c.advance(to: t0 + .seconds(60)).sent.isEmpty)
        // The separate response is a CON with a new message ID and the request's token.
        let separate = s.respond(to: exchange, with: .response(.content, text: "late"), now: t0 + .seconds(60))
        let response = try #require(separate.sent.first)
        #expect(response.type == .confirmable && response.token == request.token && response.messageID != request.messageID)
        let atClient = c.receive(separate.datagrams[0].data, from: server, now: t0 + .seconds(60))
        #expect(atClient.responses.first?.0 == id)
        let ack = try #require(atClient.sent.first)
        #expect(ack.type == .acknowledgement && ack.code == .empty && ack.messageID == response.messageID)
        // A duplicate of the separate response is acknowledged again but not delivered twice.
        let dup = c.receive(separate.datagrams[0].data, from: server, now: t0 + .seconds(61))
        #expect(dup.responses.isEmpty && dup.sent.first?.messageID == response.messageID)
        // The server's CON response is done once acknowledged.
        let acked = s.receive(atClient.datagrams[0].data, from: client, now: t0 + .seconds(61))
        #expect(acked.sent.isEmpty && acked.delivered.count == 1)
        #expect(s.exchangeCount == 0)
    }

    @Test("a duplicate CON while the handler still works is acknowledged at once")
    func duplicateWhilePending() throws {
        var s = CoAPMessageLayer(seed: 2)
        var request = get("/x")
        request.messageID = 77
        let first = s.receive(request.encoded(), from: client, now: t0)
        let (_, exchange) = try #require(first.requests.first)
        let dup = s.receive(request.encoded(), from: client, now: t0 + .milliseconds(500))
        #expect(dup.sent.map(\.type) == [.acknowledgement] && dup.sent.first?.code == .empty)
        let answer = s.respond(to: exchange, with: .response(.changed), now: t0 + .seconds(1))
        #expect(answer.sent.first?.type == .confirmable, "after an empty ACK the answer is a separate response")
    }

    @Test("NSTART = 1: a second request to the same peer queues until the first is acknowledged")
    func nstartQueueing() throws {
        var c = CoAPMessageLayer(seed: 1)
        var s = CoAPMessageLayer(seed: 2)
        let (_, a) = c.startRequest(get("/a"), to: server, now: t0)
        let (idB, b) = c.startRequest(get("/b"), to: server, now: t0)
        let (_, other) = c.startRequest(get("/c"), to: testAddress(3), now: t0)
        #expect(a.sent.count == 1 && b.sent.isEmpty && other.sent.count == 1)
        #expect(c.queuedCount(for: server) == 1)
        let (_, exchange) = try #require(s.receive(a.datagrams[0].data, from: client, now: t0).requests.first)
        let ack = s.respond(to: exchange, with: .response(.content), now: t0)
        let next = c.receive(ack.datagrams[0].data, from: server, now: t0 + .milliseconds(5))
        #expect(next.responses.count == 1)
        #expect(next.sent.map(\.uriPath) == [["b"]], "the queued request goes out when the first completes")
        #expect(c.queuedCount(for: server) == 0)
        // A give-up also frees the slot: nothing answers /b; a third request waits for that.
        let (_, third) = c.startRequest(get("/d"), to: server, now: t0 + .milliseconds(5))
        #expect(third.sent.isEmpty)
        var now = t0
        var released: [CoAPMessage] = []
        var failed: [CoAPExchangeID] = []
        while released.isEmpty, let d = c.nextDeadline, d < t0 + .seconds(200) {
            now = d
            let out = c.advance(to: now)
            failed += out.failures.map(\.0)
            released += out.sent.filter { $0.uriPath == ["d"] }
        }
        #expect(failed.contains(idB))
        #expect(released.count == 1)

        var two = CoAPMessageLayer(configuration: .init(parameters: .init(nstart: 2)), seed: 3)
        #expect(two.startRequest(get("/a"), to: server, now: t0).1.sent.count == 1)
        #expect(two.startRequest(get("/b"), to: server, now: t0).1.sent.count == 1)
        #expect(two.startRequest(get("/c"), to: server, now: t0).1.sent.isEmpty)
    }

    @Test("ping: an empty CON is answered with RST; our ping completes on RST")
    func ping() throws {
        var s = CoAPMessageLayer(seed: 2)
        let ping = CoAPMessage(type: .confirmable, code: .empty, messageID: 0xBEEF)
        let answer = s.receive(ping.encoded(), from: client, now: t0)
        #expect(answer.sent == [CoAPMessage(type: .reset, code: .empty, messageID: 0xBEEF)])
        #expect(answer.requests.isEmpty)

        var c = CoAPMessageLayer(seed: 1)
        let (id, out) = c.ping(server, now: t0)
        let sent = try #require(out.sent.first)
        #expect(sent.type == .confirmable && sent.code == .empty && sent.token.length == 0)
        let reply = s.receive(out.datagrams[0].data, from: client, now: t0)
        #expect(c.receive(reply.datagrams[0].data, from: server, now: t0).delivered == [id])
    }

    @Test("RST to a request fails it with .reset")
    func resetFailsRequest() throws {
        var c = CoAPMessageLayer(seed: 1)
        let (id, out) = c.startRequest(get("/a"), to: server, now: t0)
        let mid = try #require(out.sent.first).messageID
        let rst = CoAPMessage(type: .reset, code: .empty, messageID: mid).encoded()
        let stray = c.receive(rst, from: testAddress(7), now: t0)
        #expect(stray.datagrams.isEmpty && stray.failures.isEmpty, "a RST from another address does not match")
        #expect(stray.discards.map(\.reason) == [.unmatchedReset])
        let failed = c.receive(rst, from: server, now: t0)
        #expect(failed.failures.map(\.0) == [id] && failed.failures.first?.1.code == .reset)
        #expect(c.exchangeCount == 0)
    }

    @Test("unrecognised critical option: 4.02 for CON, RST for NON; elective ones are dropped; Proxy-Uri gets 5.05")
    func criticalOptions() throws {
        var s = CoAPMessageLayer(seed: 2)
        var bad = get("/a")
        bad.messageID = 1
        bad.addOption(CoAPOption(number: .init(rawValue: 2049), bytes: [1]))
        let r = s.receive(bad.encoded(), from: client, now: t0)
        #expect(r.requests.isEmpty)
        #expect(r.sent.first?.code == .badOption && r.sent.first?.type == .acknowledgement && r.sent.first?.messageID == 1)

        var elective = get("/a")
        elective.messageID = 2
        elective.addOption(CoAPOption(number: .init(rawValue: 2048), bytes: [1]))
        elective.addOption(CoAPOption(number: .maxAge, bytes: [1, 2, 3, 4, 5]))  // too long: treated as unknown
        let (delivered, _) = try #require(s.receive(elective.encoded(), from: client, now: t0).requests.first)
        #expect(delivered.options.map(\.number) == [.uriPath])

        var badLength = get("/a")
        badLength.messageID = 3
        badLength.addOption(CoAPOption(number: .uriHost, string: ""))  // Uri-Host is 1-255 bytes and critical
        #expect(s.receive(badLength.encoded(), from: client, now: t0).sent.first?.code == .badOption)

        var repeated = get("/a")
        repeated.messageID = 4
        repeated.addOption(CoAPOption(number: .uriPort, uint: 1))
        repeated.addOption(CoAPOption(number: .uriPort, uint: 2))
        #expect(s.receive(repeated.encoded(), from: client, now: t0).sent.first?.code == .badOption)

        var proxy = get("/a")
        proxy.messageID = 5
        proxy.addOption(CoAPOption(number: .proxyUri, string: "coap://example.org/"))
        #expect(s.receive(proxy.encoded(), from: client, now: t0).sent.first?.code == .proxyingNotSupported)

        var non = get("/a", confirmable: false)
        non.messageID = 6
        non.addOption(CoAPOption(number: .init(rawValue: 9), bytes: [1]))
        // RFC 7252 5.4.1: a NON with an unrecognised critical option is rejected (RST), not answered 4.02.
        let nonAnswer = s.receive(non.encoded(), from: client, now: t0)
        #expect(nonAnswer.requests.isEmpty)
        #expect(nonAnswer.sent == [CoAPMessage(type: .reset, code: .empty, messageID: 6)])
    }

    @Test("malformed CON gets RST, malformed NON and other versions are ignored", arguments: [
        ([0x40, 0x01, 0x12, 0x34, 0xF0], true),  // CON, nibble 15
        ([0x40, 0x01, 0x12, 0x34, 0x03, 0x61], true),  // CON, truncated option
        ([0x4F, 0x01, 0x12, 0x34], true),  // CON, token length 15
        ([0x50, 0x01, 0x12, 0x34, 0xFF], false),  // NON, marker without payload
        ([0x80, 0x01, 0x12, 0x34], false),  // version 2
        ([0x40, 0x01, 0x12], false),  // shorter than a header
        ([0x60, 0x01, 0x12, 0x34], false),  // ACK carrying a request: ignored
        ([0x70, 0x45, 0x12, 0x34], false),  // RST carrying a response: ignored
        ([0x50, 0x00, 0x12, 0x34], false),  // empty NON: ignored
    ] as [([UInt8], Bool)])
    func malformed(bytes: [UInt8], expectsReset: Bool) {
        var s = CoAPMessageLayer(seed: 2)
        let out = s.receive(ByteBuffer(bytes: bytes), from: client, now: t0)
        #expect(out.requests.isEmpty && out.responses.isEmpty)
        if expectsReset {
            #expect(out.sent == [CoAPMessage(type: .reset, code: .empty, messageID: 0x1234)])
        } else {
            #expect(out.datagrams.isEmpty)
        }
        #expect(out.discards.count == 1 && out.discards.first?.answer == (expectsReset ? .reset : .nothing))
    }

    @Test("an unexpected CON response is rejected with RST; a response from another address does not match")
    func unmatchedResponse() throws {
        var c = CoAPMessageLayer(seed: 1)
        let (_, out) = c.startRequest(get("/a"), to: server, now: t0)
        let request = try #require(out.sent.first)
        let stray = CoAPMessage(type: .confirmable, code: .content, messageID: 5, token: request.token)
        let r = c.receive(stray.encoded(), from: testAddress(8), now: t0)
        #expect(r.responses.isEmpty && r.sent == [CoAPMessage(type: .reset, code: .empty, messageID: 5)])
    }

    @Test("NON request: no retransmission, response timeout is typed")
    func nonConfirmableTimeout() throws {
        var c = CoAPMessageLayer(seed: 1)
        let (id, out) = c.startRequest(get("/a", confirmable: false), to: server, responseTimeout: .seconds(10), now: t0)
        #expect(out.sent.first?.type == .nonConfirmable)
        var sends = 0
        var failure: CoAPExchangeError?
        while failure == nil, let d = c.nextDeadline {
            let step = c.advance(to: d)
            sends += step.sent.count
            if let f = step.failures.first(where: { $0.0 == id }) { failure = f.1 }
        }
        #expect(sends == 0 && failure?.code == .responseTimeout)
    }

    @Test("keep-open exchange delivers several responses; after cancel further notifications get RST")
    func keepOpen() throws {
        var c = CoAPMessageLayer(seed: 1)
        var request = get("/obs")
        request.observe = 0
        let (id, out) = c.startRequest(request, to: server, keepsTokenOpen: true, now: t0)
        let sent = try #require(out.sent.first)
        var first = CoAPMessage(type: .acknowledgement, code: .content, messageID: sent.messageID, token: sent.token)
        first.observe = 1
        #expect(c.receive(first.encoded(), from: server, now: t0).responses.map(\.2) == [false])
        for k in 2...4 {
            var n = CoAPMessage(type: .confirmable, code: .content, messageID: UInt16(100 + k), token: sent.token)
            n.observe = UInt32(k)
            let r = c.receive(n.encoded(), from: server, now: t0 + .seconds(Int64(k)))
            #expect(r.responses.first?.0 == id && r.responses.first?.1.observe == UInt32(k))
            #expect(r.sent.first?.type == .acknowledgement)
        }
        _ = c.cancel(id, now: t0 + .seconds(10))
        let after = CoAPMessage(type: .nonConfirmable, code: .content, messageID: 200, token: sent.token)
        let r = c.receive(after.encoded(), from: server, now: t0 + .seconds(11))
        #expect(r.responses.isEmpty && r.sent.first?.type == .reset)
    }

    @Test("a separate response before the (lost) ACK completes the request and frees NSTART")
    func responseImpliesAck() throws {
        var c = CoAPMessageLayer(seed: 1)
        let (id, out) = c.startRequest(get("/a"), to: server, now: t0)
        let (_, queued) = c.startRequest(get("/b"), to: server, now: t0)
        #expect(queued.sent.isEmpty)
        let request = try #require(out.sent.first)
        let response = CoAPMessage(type: .confirmable, code: .content, messageID: 999, token: request.token)
        let r = c.receive(response.encoded(), from: server, now: t0 + .seconds(1))
        #expect(r.responses.first?.0 == id)
        #expect(r.sent.map(\.type) == [.acknowledgement, .confirmable])
        #expect(r.sent.last?.uriPath == ["b"])
    }
}
