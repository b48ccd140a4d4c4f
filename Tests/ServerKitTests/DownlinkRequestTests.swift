import CoAPCore
import LwM2MModel
import NIOCore
import Testing

@testable import ServerKit

@Suite("Downlink requests on the wire")
struct DownlinkRequestTests {
    let registration = testRegistration()

    func wire(_ request: LwM2MDownlinkRequest, registration r: Registration? = nil) -> String {
        (request.message(for: r ?? registration, token: CoAPToken(value: 0xAB, length: 1))).description
    }

    @Test("Each operation has its method, path, query and options")
    func shapes() {
        let tlv = ByteBuffer(bytes: [0xC1, 0x09, 0x5F])
        #expect(wire(.init(.read(.resource(3, 0, 9)), accept: .lwm2mTLV)) == "CON GET mid=0 token=ab /3/0/9 Accept=11542")
        #expect(wire(.init(.discover(.instance(3, 0)))) == "CON GET mid=0 token=ab /3/0 Accept=40")
        #expect(
            wire(.init(.write(.instance(3, 0), .replace), contentFormat: .lwm2mTLV, payload: tlv))
                == "CON PUT mid=0 token=ab /3/0 Content-Format=11542 (3 bytes)")
        #expect(
            wire(.init(.write(.instance(3, 0), .partialUpdate), contentFormat: .lwm2mTLV, payload: tlv))
                == "CON POST mid=0 token=ab /3/0 Content-Format=11542 (3 bytes)")
        #expect(
            wire(.init(.writeAttributes(.resource(3, 0, 9), ["pmin=10", "pmax=60", "gt"])))
                == "CON PUT mid=0 token=ab /3/0/9?pmin=10&pmax=60&gt")
        #expect(wire(.init(.execute(.resource(3, 0, 4), arguments: nil))) == "CON POST mid=0 token=ab /3/0/4")
        #expect(
            wire(.init(.execute(.resource(3, 0, 4), arguments: "0='a'")))
                == "CON POST mid=0 token=ab /3/0/4 Content-Format=0 (5 bytes)")
        #expect(
            wire(.init(.create(objectID: 19), contentFormat: .senmlCBOR, payload: tlv))
                == "CON POST mid=0 token=ab /19 Content-Format=112 (3 bytes)")
        #expect(wire(.init(.delete(.instance(19, 1)))) == "CON DELETE mid=0 token=ab /19/1")
        #expect(
            wire(.init(.readComposite, contentFormat: .senmlCBOR, accept: .senmlCBOR, payload: tlv))
                == "CON FETCH mid=0 token=ab Content-Format=112 Accept=112 (3 bytes)")
        #expect(
            wire(.init(.writeComposite, contentFormat: .senmlJSON, payload: tlv))
                == "CON iPATCH mid=0 token=ab Content-Format=110 (3 bytes)")
        #expect(wire(.init(.observe(.resource(3, 0, 9)))) == "CON GET mid=0 token=ab /3/0/9 Observe=0")
        #expect(wire(.init(.cancelObserve(.resource(3, 0, 9)))) == "CON GET mid=0 token=ab /3/0/9 Observe=1")
        #expect(
            wire(.init(.observeComposite, contentFormat: .senmlCBOR, accept: .senmlCBOR, payload: tlv))
                == "CON FETCH mid=0 token=ab Observe=0 Content-Format=112 Accept=112 (3 bytes)")
    }

    @Test("An alternate root path prefixes every request path")
    func alternatePath() {
        var r = registration
        r.rootPath = "/lwm2m"
        #expect(wire(.init(.read(.resource(3, 0, 9))), registration: r) == "CON GET mid=0 token=ab /lwm2m/3/0/9")
        #expect(wire(.init(.readComposite), registration: r) == "CON FETCH mid=0 token=ab /lwm2m")
        var created = CoAPMessage(type: .acknowledgement, code: .created, messageID: 1)
        created.locationPath = ["lwm2m", "19", "4"]
        #expect(LwM2MDownlinkRequest.createdPath(from: created, registration: r, objectID: 19, fallback: nil) == .instance(19, 4))
        created.locationPath = []
        #expect(LwM2MDownlinkRequest.createdPath(from: created, registration: r, objectID: 19, fallback: 2) == .instance(19, 2))
    }

    @Test("Responses are checked against the operation's success code")
    func check() throws {
        let read = LwM2MDownlinkRequest(.read(.resource(3, 0, 9)))
        let ok = CoAPMessage(type: .acknowledgement, code: .content, messageID: 1)
        #expect(try read.check(ok, endpoint: "dev1") == ok)
        let notFound = CoAPMessage(type: .acknowledgement, code: .notFound, messageID: 1)
        let error = #expect(throws: LwM2MServerError.self) { try read.check(notFound, endpoint: "dev1") }
        #expect(error?.coapCode == .notFound)
        #expect(error?.path == .resource(3, 0, 9))
        let create = LwM2MDownlinkRequest(.create(objectID: 19))
        #expect(throws: LwM2MServerError.self) {
            try create.check(CoAPMessage(type: .acknowledgement, code: .changed, messageID: 1), endpoint: "dev1")
        }
    }
}

@Suite("Queue mode")
struct DownlinkQueueTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test("Requests wait for the client, bounded per client, and leave oldest first when it shows up")
    func holdAndDeliver() throws {
        var q = DownlinkQueue<String>()
        q.configuration.maxPerClient = 2
        #expect(!q.isAwake(registrationID: "a", now: t0))
        _ = try q.enqueue("read", registrationID: "a", now: t0).get()
        _ = try q.enqueue("write", registrationID: "a", now: t0).get()
        let full = q.enqueue("execute", registrationID: "a", now: t0)
        #expect(throws: LwM2MServerError.self) { try full.get() }
        _ = try q.enqueue("other", registrationID: "b", now: t0).get()
        #expect(q.count == 3)
        let sent = q.clientSeen(registrationID: "a", now: t0 + .seconds(10))
        #expect(sent.map(\.1) == ["read", "write"])
        #expect(q.isAwake(registrationID: "a", now: t0 + .seconds(102)))
        #expect(!q.isAwake(registrationID: "a", now: t0 + .seconds(103)))
        #expect(q.count == 1)
        #expect(q.count(registrationID: "b") == 1)
    }

    @Test("A queued request fails when its time-to-live ends; a removed registration fails all of its requests")
    func expiry() throws {
        var q = DownlinkQueue<Int>()
        q.configuration.timeToLive = .seconds(60)
        _ = try q.enqueue(1, registrationID: "a", now: t0).get()
        let second = try q.enqueue(2, registrationID: "a", now: t0 + .seconds(30)).get()
        _ = try q.enqueue(3, registrationID: "b", now: t0 + .seconds(40)).get()
        #expect(q.nextDeadline == t0 + .seconds(60))
        #expect(q.expire(now: t0 + .seconds(59)).isEmpty)
        #expect(q.expire(now: t0 + .seconds(60)).map(\.1) == [1])
        #expect(q.remove(second) == 2)
        #expect(q.remove(second) == nil)
        #expect(q.removeAll(registrationID: "b").map(\.1) == [3])
        #expect(q.count == 0)
        #expect(q.nextDeadline == nil)
    }
}
