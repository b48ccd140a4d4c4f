@testable import CoAPCore
import LwM2MTestPKI
import Logging
import NIOCore
import Synchronization
import Testing

@Suite("CoAP discard diagnostics (message layer and endpoint logging)")
struct CoAPDiscardTests {
    let client = testAddress(1)
    let server = testAddress(2)

    // MARK: - Message layer

    @Test("malformed CON: RST plus a diagnostic with the decoding error's code, offset and message ID")
    func malformedConfirmable() throws {
        var s = CoAPMessageLayer(seed: 2)
        // CON GET, MID 0x1234, then an option byte with delta nibble 15 that is not the payload marker.
        let out = s.receive(ByteBuffer(bytes: [0x40, 0x01, 0x12, 0x34, 0xF1]), from: client, now: t0)
        #expect(out.sent == [CoAPMessage(type: .reset, code: .empty, messageID: 0x1234)])
        #expect(out.requests.isEmpty)
        let discard = try #require(out.discards.first)
        #expect(out.discards.count == 1)
        #expect(discard.peer == client && discard.reason == .malformed && discard.answer == .reset)
        #expect(discard.messageID == 0x1234 && discard.messageType == .confirmable)
        #expect(discard.decodingError?.code == .reservedNibble)
        #expect(discard.offset == 4)
        #expect(s.deduplicationCount == 0, "nothing malformed is remembered")
    }

    @Test("malformed CON with a truncated option reports the option number and where it broke off")
    func truncatedOption() throws {
        var s = CoAPMessageLayer(seed: 2)
        // Uri-Path (delta 11) claiming 3 bytes with only 1 present.
        let out = s.receive(ByteBuffer(bytes: [0x40, 0x01, 0x00, 0x07, 0xB3, 0x61]), from: client, now: t0)
        #expect(out.sent == [CoAPMessage(type: .reset, code: .empty, messageID: 7)])
        let discard = try #require(out.discards.first)
        #expect(discard.decodingError?.code == .truncated)
        #expect(discard.decodingError?.optionNumber == 11 && discard.option == .uriPath)
        #expect(discard.offset == 5)
    }

    @Test("malformed NON: a diagnostic only, nothing sent")
    func malformedNonConfirmable() throws {
        var s = CoAPMessageLayer(seed: 2)
        let out = s.receive(ByteBuffer(bytes: [0x50, 0x01, 0x12, 0x34, 0xFF]), from: client, now: t0)
        #expect(out.datagrams.isEmpty && out.requests.isEmpty)
        let discard = try #require(out.discards.first)
        #expect(out.count == 1)
        #expect(discard.reason == .malformed && discard.answer == .nothing && discard.messageType == .nonConfirmable)
        #expect(discard.decodingError?.code == .emptyPayloadAfterMarker && discard.offset == 4)
    }

    @Test("a datagram shorter than a header: diagnostic without message ID")
    func runt() throws {
        var s = CoAPMessageLayer(seed: 2)
        let out = s.receive(ByteBuffer(bytes: [0x40, 0x01]), from: client, now: t0)
        let discard = try #require(out.discards.first)
        #expect(out.datagrams.isEmpty)
        #expect(discard.decodingError?.code == .truncated && discard.messageID == nil && discard.answer == .nothing)
    }

    @Test("unknown critical option in a CON request: 4.02 plus a diagnostic naming the option")
    func unknownCriticalOption() throws {
        var s = CoAPMessageLayer(seed: 2)
        var bad = CoAPMessage.request(.get, path: "/a")
        bad.messageID = 9
        bad.addOption(CoAPOption(number: .init(rawValue: 2049), bytes: [1]))
        let out = s.receive(bad.encoded(), from: client, now: t0)
        #expect(out.requests.isEmpty)
        #expect(out.sent.first?.code == .badOption && out.sent.first?.messageID == 9)
        let discard = try #require(out.discards.first)
        #expect(discard.reason == .badOption && discard.answer == .response(.badOption))
        #expect(discard.option == CoAPOptionNumber(rawValue: 2049) && discard.messageID == 9)

        // The NON form is rejected with RST, and the duplicate of the CON replays the 4.02 (routine).
        var non = CoAPMessage.request(.get, path: "/a", confirmable: false)
        non.messageID = 10
        non.addOption(CoAPOption(number: .init(rawValue: 2049), bytes: [1]))
        #expect(s.receive(non.encoded(), from: client, now: t0).discards.first?.answer == .reset)
        let again = s.receive(bad.encoded(), from: client, now: t0)
        #expect(again.sent.first?.code == .badOption)
        #expect(again.discards.map(\.reason) == [.duplicate] && again.discards.first?.answer == .replay)
        #expect(again.discards.first?.reason.isRoutine == true && discard.reason.isRoutine == false)
    }

    @Test("Proxy-Uri to a non-proxy: 5.05 plus a diagnostic")
    func proxy() throws {
        var s = CoAPMessageLayer(seed: 2)
        var proxy = CoAPMessage.request(.get, path: "/a")
        proxy.messageID = 3
        proxy.addOption(CoAPOption(number: .proxyUri, string: "coap://example.org/"))
        let out = s.receive(proxy.encoded(), from: client, now: t0)
        #expect(out.discards.first?.reason == .proxyingNotSupported)
        #expect(out.discards.first?.answer == .response(.proxyingNotSupported))
        #expect(out.discards.first?.option == .proxyUri)
    }

    @Test("unmatched CON response: RST plus a diagnostic; unmatched ACK and RST: diagnostics only")
    func unmatched() throws {
        var c = CoAPMessageLayer(seed: 1)
        let stray = CoAPMessage(type: .confirmable, code: .content, messageID: 5, token: CoAPToken(value: 42, length: 2))
        let out = c.receive(stray.encoded(), from: server, now: t0)
        #expect(out.sent == [CoAPMessage(type: .reset, code: .empty, messageID: 5)])
        let discard = try #require(out.discards.first)
        #expect(discard.reason == .unmatchedResponse && discard.answer == .reset && discard.peer == server)
        #expect(discard.messageID == 5 && discard.messageType == .confirmable)

        let ack = c.receive(CoAPMessage(type: .acknowledgement, code: .empty, messageID: 77).encoded(), from: server, now: t0)
        #expect(ack.datagrams.isEmpty && ack.discards.map(\.reason) == [.unmatchedAcknowledgement])
        let rst = c.receive(CoAPMessage(type: .reset, code: .empty, messageID: 78).encoded(), from: server, now: t0)
        #expect(rst.datagrams.isEmpty && rst.discards.map(\.reason) == [.unmatchedReset])
        #expect(rst.discards.first?.messageID == 78)
    }

    @Test("empty NON and an ACK carrying a request are reported, not delivered")
    func misusedTypes() {
        var s = CoAPMessageLayer(seed: 2)
        let emptyNon = s.receive(ByteBuffer(bytes: [0x50, 0x00, 0x00, 0x01]), from: client, now: t0)
        #expect(emptyNon.datagrams.isEmpty && emptyNon.discards.map(\.reason) == [.emptyNonConfirmable])
        let ackRequest = s.receive(ByteBuffer(bytes: [0x60, 0x01, 0x00, 0x02]), from: client, now: t0)
        #expect(ackRequest.requests.isEmpty && ackRequest.discards.map(\.reason) == [.requestInAcknowledgement])
        let resetResponse = s.receive(ByteBuffer(bytes: [0x70, 0x45, 0x00, 0x03]), from: client, now: t0)
        #expect(resetResponse.discards.map(\.reason) == [.nonEmptyReset])
    }

    @Test("a response with an unknown critical option fails its exchange with a diagnostic naming the exchange")
    func badResponseOption() throws {
        var c = CoAPMessageLayer(seed: 1)
        let (id, out) = c.startRequest(.request(.get, path: "/a"), to: server, now: t0)
        let request = try #require(out.sent.first)
        var response = CoAPMessage(
            type: .acknowledgement, code: .content, messageID: request.messageID, token: request.token)
        response.addOption(CoAPOption(number: .init(rawValue: 2049), bytes: [1]))
        let r = c.receive(response.encoded(), from: server, now: t0)
        #expect(r.failures.map(\.0) == [id] && r.failures.first?.1.code == .badResponse)
        let discard = try #require(r.discards.first)
        #expect(discard.reason == .badResponseOption && discard.exchange == id)
        #expect(discard.option == CoAPOptionNumber(rawValue: 2049))
    }

    @Test("a well-formed request and its response produce no diagnostics")
    func quietHappyPath() throws {
        var c = CoAPMessageLayer(seed: 1)
        var s = CoAPMessageLayer(seed: 2)
        let (_, out) = c.startRequest(.request(.get, path: "/a"), to: server, now: t0)
        let inbound = s.receive(try #require(out.datagrams.first).data, from: client, now: t0)
        #expect(inbound.discards.isEmpty)
        let (_, exchange) = try #require(inbound.requests.first)
        let answer = s.respond(to: exchange, with: .response(.content, text: "x"), now: t0)
        let back = c.receive(try #require(answer.datagrams.first).data, from: server, now: t0)
        #expect(back.discards.isEmpty && back.responses.count == 1)
    }

    @Test("the docs/CoAPCore-Logging.md example runs")
    func docsExample() throws {
        var seen: [String] = []
        // --- the example, as in the docs ---
        var layer = CoAPMessageLayer()
        let peer = try SocketAddress(ipAddress: "192.0.2.1", port: 5683)
        // A CON GET whose first option uses the reserved delta nibble 15.
        let actions = layer.receive(ByteBuffer(bytes: [0x40, 0x01, 0x12, 0x34, 0xF1]), from: peer, now: .now())
        for case .discarded(let discard) in actions {
            seen.append("\(discard.reason) \(discard.decodingError?.code as Any) \(discard.offset ?? -1) \(discard.answer)")
        }
        // --- end ---
        #expect(seen == ["malformed Optional(reservedNibble) 4 RST"])
    }

    // MARK: - Endpoint logging

    @Test("the endpoint logs garbage with peer, reason, offset and message ID, and keeps serving")
    func endpointLogsGarbage() async throws {
        let clock = CoAPVirtualClock()
        let network = CoAPSimulatedNetwork(clock: clock, seed: 3)
        let records = CapturingLogHandler.Store()
        var logger = Logger(label: "test.coap") { _ in CapturingLogHandler(store: records) }
        logger.logLevel = .debug
        let server = CoAPEndpoint(
            transport: network.makeTransport(), configuration: .init(seed: 2), clock: clock, logger: logger)
        let client = CoAPEndpoint(transport: network.makeTransport(), configuration: .init(seed: 1), clock: clock)
        let attacker = network.makeTransport()
        await server.register("/hello") { _ in .response(.content, text: "world") }

        // A malformed CON (delta nibble 15 at offset 4): the attacker gets RST, the server logs at info.
        attacker.send(CoAPDatagram(remote: server.localAddress, data: ByteBuffer(bytes: [0x40, 0x01, 0xAB, 0xCD, 0xF1])))
        let record = try #require(try await withTimeout {
            await records.first { $0.message.description == "CoAP datagram discarded" }
        })
        #expect(record.level == .info)
        #expect(record.metadata["peer"] == "\(attacker.localAddress.hostAndPort)")
        #expect(record.metadata["reason"] == "malformed")
        #expect(record.metadata["error"] == "reservedNibble")
        #expect(record.metadata["offset"] == "4")
        #expect(record.metadata["mid"] == "\(0xABCD)")
        #expect(record.metadata["answer"] == "RST")
        let rst = try #require(try await withTimeout {
            var iterator = attacker.inbound.makeAsyncIterator()
            return await iterator.next()
        })
        #expect(try CoAPMessage(decoding: rst.data) == CoAPMessage(type: .reset, code: .empty, messageID: 0xABCD))

        // A normal request still works afterwards.
        let reply = try await withTimeout {
            try await client.request(.request(.get, path: "/hello"), to: server.localAddress)
        }
        #expect(reply.code == .content && String(buffer: reply.payload) == "world")

        // An unmatched RST is routine: debug level.
        attacker.send(CoAPDatagram(
            remote: server.localAddress, data: CoAPMessage(type: .reset, code: .empty, messageID: 99).encoded()))
        let routine = try #require(try await withTimeout {
            await records.first { $0.metadata["reason"] == "unmatchedReset" }
        })
        #expect(routine.level == .debug && routine.metadata["mid"] == "99")

        await client.close()
        await server.close()
        await attacker.close()
    }

    @Test("block-wise rejections (4.08 on a gap) and handler failures are logged")
    func endpointLogsBlockwiseAndHandlerErrors() async throws {
        let clock = CoAPVirtualClock()
        let network = CoAPSimulatedNetwork(clock: clock, seed: 4)
        let records = CapturingLogHandler.Store()
        var logger = Logger(label: "test.coap") { _ in CapturingLogHandler(store: records) }
        logger.logLevel = .debug
        let server = CoAPEndpoint(
            transport: network.makeTransport(), configuration: .init(seed: 2), clock: clock, logger: logger)
        let client = CoAPEndpoint(transport: network.makeTransport(), configuration: .init(seed: 1), clock: clock)
        struct Boom: Error {}
        await server.register("/upload") { _ in .response(.changed) }
        await server.register("/boom") { _ in throw Boom() }

        // Block 3 of an upload that never started: 4.08 Request Entity Incomplete.
        var gap = CoAPMessage.request(.put, path: "/upload", payload: ByteBuffer(repeating: 1, count: 16))
        gap.setBlock1(try CoAPBlockOption(number: 3, more: true, szx: 0))
        let request = gap
        let reply = try await withTimeout { try await client.request(request, to: server.localAddress) }
        #expect(reply.code == .requestEntityIncomplete)
        let blockRecord = try #require(try await withTimeout {
            await records.first { $0.message.description == "CoAP block-wise request rejected" }
        })
        #expect(blockRecord.level == .info)
        #expect(blockRecord.metadata["code"] == "\(CoAPCode.requestEntityIncomplete)")
        #expect(blockRecord.metadata["block1"] == "3/1/16")
        #expect(blockRecord.metadata["peer"] == "\(client.localAddress.hostAndPort)")

        let failed = try await withTimeout { try await client.request(.request(.get, path: "/boom"), to: server.localAddress) }
        #expect(failed.code == .internalServerError)
        let handlerRecord = try #require(try await withTimeout {
            await records.first { $0.message.description == "CoAP handler failed" }
        })
        #expect(handlerRecord.level == .info && handlerRecord.metadata["path"] == "/boom")
        #expect(handlerRecord.metadata["peer"] == "\(client.localAddress.hostAndPort)")

        await client.close()
        await server.close()
    }
}

/// A `LogHandler` that keeps every record in memory so tests can await and inspect them.
struct CapturingLogHandler: LogHandler {
    struct Record: Sendable {
        var level: Logger.Level
        var message: Logger.Message
        var metadata: Logger.Metadata
    }

    /// The shared record list; `first(where:)` waits for a matching record without polling.
    final class Store: Sendable {
        private struct Waiter {
            var id: Int
            var predicate: @Sendable (Record) -> Bool
            var continuation: CheckedContinuation<Record?, Never>
        }
        private struct State {
            var records: [Record] = []
            var waiters: [Waiter] = []
            var nextID = 0
        }
        private let state = Mutex(State())

        func append(_ record: Record) {
            let ready = state.withLock { s -> [CheckedContinuation<Record?, Never>] in
                s.records.append(record)
                var ready: [CheckedContinuation<Record?, Never>] = []
                s.waiters.removeAll { waiter in
                    guard waiter.predicate(record) else { return false }
                    ready.append(waiter.continuation)
                    return true
                }
                return ready
            }
            for continuation in ready { continuation.resume(returning: record) }
        }

        /// The first record (already logged or still to come) matching `predicate`; `nil` when the waiting
        /// task is cancelled (e.g. by `withTimeout`).
        func first(where predicate: @escaping @Sendable (Record) -> Bool) async -> Record? {
            let id = state.withLock { s in
                s.nextID += 1
                return s.nextID
            }
            return await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let found = state.withLock { s -> Record?? in
                        if let record = s.records.first(where: predicate) { return .some(record) }
                        if Task.isCancelled { return .some(nil) }
                        s.waiters.append(Waiter(id: id, predicate: predicate, continuation: continuation))
                        return .none
                    }
                    if let found { continuation.resume(returning: found) }
                }
            } onCancel: {
                let waiter = state.withLock { s -> Waiter? in
                    guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return s.waiters.remove(at: index)
                }
                waiter?.continuation.resume(returning: nil)
            }
        }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        store.append(Record(level: event.level, message: event.message, metadata: metadata.merging(event.metadata ?? [:]) { $1 }))
    }
}
