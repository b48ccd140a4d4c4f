import LwM2MTestPKI
import CoAPCore
import Codecs
import LwM2MModel
import NIOCore
import Synchronization
import Testing

@testable import ServerKit

/// Waits (yielding, bounded) until `endpoint` has `count` queued requests on `server`.
private func queued(_ count: Int, on server: LwM2MServer, endpoint: String = "dev1") async -> Bool {
    for _ in 0..<10_000 {
        if await server.queuedRequestCount(endpoint: endpoint) == count { return true }
        await Task.yield()
    }
    return false
}

@Suite("LwM2M server: queue-mode wake-ups by any message, Create payload formats")
struct ServerQueueAndCreateTests {
    @Test("A sleeping queue-mode client is woken by any message: a Send, a ping, any CON request")
    func anyMessageReleasesQueue() async throws {
        let h = await ServerHarness {
            $0.queue.awakeTime = .seconds(10)
            $0.queue.timeToLive = .seconds(300)
        }
        let received = Received()
        await h.client.register("/3/0/9") { request in
            received.add(request.message)
            return .response(.content, text: "/3/0/9=42")
        }
        _ = try await h.register(query: ["lt=3600", "lwm2m=1.1", "Q"])
        let server = h.server
        let wakeUps: [(String, @Sendable () async throws -> Void)] = [
            ("Send", {
                let r = try await h.client.request(
                    .request(.post, path: "/dp", payload: ByteBuffer(string: "/3/0/9=41"), contentFormat: .senmlJSON),
                    to: h.serverAddress)
                #expect(r.code == .changed)
            }),
            ("ping", { try await h.client.ping(h.serverAddress) }),
            ("GET of an unknown resource", {
                let r = try await h.client.request(.request(.get, path: "/hello"), to: h.serverAddress)
                #expect(r.code == .notFound)
            }),
        ]
        for (k, (name, wakeUp)) in wakeUps.enumerated() {
            h.clock.advance(by: .seconds(11))  // asleep
            let read = Task { try await server.read(endpoint: "dev1", path: .resource(3, 0, 9)) }
            #expect(await queued(1, on: server), "\(name)")
            h.clock.advance(by: .seconds(60))
            for _ in 0..<50 { await Task.yield() }
            #expect(received.all.count == k, "\(name): nothing goes out while the client sleeps")
            try await withTimeout { try await wakeUp() }
            #expect(try await withTimeout { try await read.value } == .resource(.single(9, .integer(42))), "\(name)")
            #expect(received.all.count == k + 1, "\(name)")
            #expect(await server.queuedRequestCount(endpoint: "dev1") == 0)
        }
        await h.close()
    }

    static let codec = LwM2MCodec(definitions: testRegistry)

    @Test(
        "Create without an instance ID follows the format policy: SenML names a proposed ID, TLV sends bare resources",
        arguments: [
            (["lt=60", "lwm2m=1.1"], #"</>;rt="oma.lwm2m";ct=110,</19/0>,</19/1>,</19/3>"#, CoAPContentFormat.senmlJSON),
            (["lt=60", "lwm2m=1.1"], #"</>;rt="oma.lwm2m";ct="60 112",</19/0>,</19/1>,</19/3>"#, .senmlCBOR),
            (["lt=60", "lwm2m=1.1"], "</19/0>,</19/1>,</19/3>", .lwm2mTLV),
            (["lt=60"], "</19/0>,</19/1>,</19/3>", .lwm2mTLV),
        ])
    func createWithoutInstanceID(query: [String], links: String, expected: CoAPContentFormat) async throws {
        let h = await ServerHarness(codec: Self.codec)
        let received = Received()
        await h.client.register("/19") { request in
            received.add(request.message)
            var m = CoAPMessage.response(.created)
            m.locationPath = ["19", "2"]
            return m
        }
        _ = try await h.register(query: query, links: links)
        let server = h.server
        let created = try await withTimeout {
            try await server.create(endpoint: "dev1", objectID: 19, instanceID: nil, resources: [.single(1, .integer(7))])
        }
        #expect(created == .instance(19, 2))
        let request = try #require(received.all.first)
        #expect(request.code == .post)
        #expect(request.uriPath == ["19"])
        #expect(request.contentFormat == expected)
        let format = try LwM2MCodec.format(number: expected.rawValue)
        if expected == .lwm2mTLV {
            // Core TS 7.4.3: the Resource TLVs alone; the client picks the instance ID.
            let bare = try Self.codec.encode(.resource(.single(1, .integer(7))), at: .resource(19, 0, 1), as: format)
            #expect(Array(request.payload.readableBytesView) == bare)
        } else {
            // SenML names full paths: the lowest instance ID the client did not announce (0, 1 and 3 exist).
            let records = try Self.codec.decode(records: Array(request.payload.readableBytesView), as: format)
            #expect(records == [LwM2MRecord(path: .resource(19, 2, 1), value: .integer(7))])
        }
        await h.close()
    }

    @Test("The proposed instance ID is the lowest gap")
    func firstFreeInstanceID() {
        #expect(LwM2MServer.firstFreeInstanceID([]) == 0)
        #expect(LwM2MServer.firstFreeInstanceID([0, 1, 3]) == 2)
        #expect(LwM2MServer.firstFreeInstanceID([1, 2]) == 0)
        #expect(LwM2MServer.firstFreeInstanceID([0, 1, 2]) == 3)
    }
}
