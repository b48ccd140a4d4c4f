import LwM2MTestPKI
import CoAPCore
import Codecs
import LwM2MModel
import NIOCore
import Synchronization
import Testing

@testable import ServerKit

/// Server tests with the real payload codec (`LwM2MCodec`): every notification format, composite operations and
/// Send.
@Suite("LwM2M server with real content formats")
struct ServerFormatsTests {
    static let codec = LwM2MCodec(definitions: testRegistry)

    static func payload(_ node: LwM2MNode, at path: LwM2MPath, _ format: CoAPContentFormat) -> ByteBuffer {
        ByteBuffer(bytes: try! codec.encode(node, at: path, as: LwM2MCodec.format(number: format.rawValue)))
    }

    @Test(
        "Observe decodes the initial value and notifications in each format",
        arguments: [
            CoAPContentFormat.lwm2mTLV, .senmlJSON, .senmlCBOR, .lwm2mJSON, .textPlain, .cbor, .lwm2mCBOR,
        ])
    func observeFormats(format: CoAPContentFormat) async throws {
        let h = await ServerHarness(codec: Self.codec)
        let path = LwM2MPath.resource(3, 0, 9)
        let token = Mutex<CoAPToken?>(nil)
        await h.client.register("/3/0/9") { request in
            #expect(request.message.accept == format)
            token.withLock { $0 = request.message.token }
            var m = CoAPMessage.response(
                .content, payload: Self.payload(.resource(.single(9, .integer(90))), at: path, format), contentFormat: format)
            m.observe = 1
            return m
        }
        _ = try await h.register()
        let (observation, initial) = try await h.server.observe(endpoint: "dev1", path: path, format: format)
        #expect(initial == .resource(.single(9, .integer(90))))
        let stream = await h.server.notifications(of: observation)
        var n = CoAPMessage(type: .nonConfirmable, code: .content, messageID: 0, token: token.withLock { $0 }!)
        n.observe = 2
        n.contentFormat = format
        n.payload = Self.payload(.resource(.single(9, .integer(89))), at: path, format)
        try await h.client.send(n, to: h.serverAddress)
        let got = try await withTimeout {
            var it = stream.makeAsyncIterator()
            return await it.next()
        }
        #expect(got?.content == .node(path, .resource(.single(9, .integer(89)))))
        #expect(got?.contentFormat == format)
        await h.close()
    }

    @Test("Read of an instance in SenML CBOR (the 1.1 client declared ct=112) and Write in the same format")
    func readWriteSenML() async throws {
        let h = await ServerHarness(codec: Self.codec)
        let instance = LwM2MObjectInstance(
            id: 0, resources: [.single(0, .string("Acme")), .single(9, .integer(80)), .multiple(11, [0: .integer(0), 1: .integer(3)])])
        let written = Mutex<[LwM2MNode]>([])
        await h.client.register("/3/0") { request in
            switch request.method {
            case .get:
                #expect(request.message.accept == .senmlCBOR)
                return .response(
                    .content, payload: Self.payload(.objectInstance(instance), at: .instance(3, 0), .senmlCBOR),
                    contentFormat: .senmlCBOR)
            default:
                #expect(request.message.contentFormat == .senmlCBOR)
                let node = try Self.codec.decode(request.message.payloadBytes, at: .instance(3, 0), as: LwM2MContentFormat.senmlCBOR)
                written.withLock { $0.append(node) }
                return .response(.changed)
            }
        }
        _ = try await h.register(links: #"</>;rt="oma.lwm2m";ct="60 110 112",</3/0>"#)
        #expect(try await h.server.read(endpoint: "dev1", path: .instance(3, 0)) == .objectInstance(instance))
        let update = LwM2MObjectInstance(id: 0, resources: [.single(14, .string("+02"))])
        try await h.server.write(endpoint: "dev1", path: .instance(3, 0), node: .objectInstance(update), mode: .partialUpdate)
        #expect(written.withLock { $0 } == [.objectInstance(update)])
        await h.close()
    }

    @Test("Read-Composite, Write-Composite and Observe-Composite send SenML on the root path (FETCH, iPATCH)")
    func composite() async throws {
        let h = await ServerHarness(codec: Self.codec)
        let received = Mutex<[CoAPMessage]>([])
        await h.client.register(CoAPResource(path: []) { request in
            received.withLock { $0.append(request.message) }
            if request.method == .fetch {
                let records = [
                    LwM2MRecord(path: .resource(3, 0, 9), value: .integer(75)),
                    LwM2MRecord(path: .resource(1, 0, 1), value: .integer(300)),
                ]
                var m = CoAPMessage.response(
                    .content, payload: ByteBuffer(bytes: try Self.codec.encode(records: records, as: LwM2MContentFormat.senmlJSON)),
                    contentFormat: .senmlJSON)
                if request.message.observe == 0 { m.observe = 5 }
                return m
            }
            return .response(.changed)
        })
        _ = try await h.register(links: #"</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>"#)
        let records = try await h.server.readComposite(endpoint: "dev1", paths: [.resource(3, 0, 9), .object(1)])
        #expect(records.map(\.path) == [.resource(3, 0, 9), .resource(1, 0, 1)])
        #expect(records.map(\.value) == [.integer(75), .integer(300)])
        try await h.server.writeComposite(
            endpoint: "dev1", records: [LwM2MRecord(path: .resource(3, 0, 14), value: .string("+04"))])
        let messages = received.withLock { $0 }
        #expect(messages.map(\.code) == [.fetch, .iPatch])
        #expect(messages[0].contentFormat == .senmlJSON)
        #expect(messages[0].accept == .senmlJSON)
        let asked = try Self.codec.decode(records: messages[0].payloadBytes, as: LwM2MContentFormat.senmlJSON)
        #expect(asked.map(\.path) == [.resource(3, 0, 9), .object(1)])
        let wrote = try Self.codec.decode(records: messages[1].payloadBytes, as: LwM2MContentFormat.senmlJSON)
        #expect(wrote == [LwM2MRecord(path: .resource(3, 0, 14), value: .string("+04"))])
        // Observe-Composite: FETCH with Observe=0, then an active cancel: FETCH with Observe=1, same token.
        let paths: [LwM2MPath] = [.resource(3, 0, 9), .resource(1, 0, 1)]
        let (observation, initial) = try await h.server.observeComposite(endpoint: "dev1", paths: paths)
        #expect(initial.map(\.value) == [.integer(75), .integer(300)])
        #expect(observation.target == .composite(paths))
        #expect(try await h.server.cancelCompositeObservation(endpoint: "dev1", paths: paths, active: true) == 1)
        let observeMessages = received.withLock { Array($0.dropFirst(2)) }
        #expect(observeMessages.map(\.code) == [.fetch, .fetch])
        #expect(observeMessages.map(\.observe) == [0, 1])
        #expect(observeMessages[0].token == observeMessages[1].token)
        #expect(observeMessages[1].payload == observeMessages[0].payload)
        await h.close()
    }

    @Test("Send (POST /dp) in SenML JSON is decoded into a send event with timestamps")
    func send() async throws {
        let h = await ServerHarness(codec: Self.codec)
        _ = try await h.register()
        let records = [LwM2MRecord(path: .resource(3, 0, 9), value: .integer(42), timestamp: 1_700_000_000)]
        let response = try await h.client.request(
            .request(.post, path: "/dp", payload: ByteBuffer(bytes: try Self.codec.encode(records: records, as: LwM2MContentFormat.senmlJSON)),
                contentFormat: .senmlJSON), to: h.serverAddress)
        #expect(response.code == .changed)
        try await h.waitForEvents(2)
        guard case .send(let report) = h.log.all[1] else {
            Issue.record("expected a send event, got \(h.log.names)")
            return
        }
        #expect(report.records == records)
        let bad = try await h.client.request(
            .request(.post, path: "/dp", payload: ByteBuffer(string: "[{"), contentFormat: .senmlJSON), to: h.serverAddress)
        #expect(bad.code == .badRequest)
        await h.close()
    }
}
