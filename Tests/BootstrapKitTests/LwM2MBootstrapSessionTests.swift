import BootstrapKit
import CoAPCore
import Codecs
import LwM2MModel
import Testing

@Suite("Bootstrap session state machine")
struct LwM2MBootstrapSessionTests {
    let codec = LwM2MCodec(definitions: LwM2MRegistry.builtIn)

    func expectSend(_ action: LwM2MBootstrapSession.Action, sourceLocation: SourceLocation = #_sourceLocation)
        -> LwM2MBootstrapRequest?
    {
        guard case .send(let request) = action else {
            Issue.record("expected a request, got \(action)", sourceLocation: sourceLocation)
            return nil
        }
        return request
    }

    @Test("NoSec plan in TLV (1.0): DELETE /0, DELETE /1, PUT /0/1, PUT /1/0, POST /bs with the exact bytes")
    func happyPathTLV() throws {
        let config = LwM2MBootstrapConfiguration.noSec(serverURI: "coap://127.0.0.1:5999", lifetime: 300)
        var session = LwM2MBootstrapSession(endpoint: "dev1", plan: config.plan)
        #expect(session.writeFormat == .tlv)

        let d0 = try #require(expectSend(session.start()))
        #expect(d0.method == .delete && d0.uriPath == ["0"] && d0.payload.isEmpty)
        let d1 = try #require(expectSend(session.receive(code: .deleted)))
        #expect(d1.method == .delete && d1.uriPath == ["1"])

        let w0 = try #require(expectSend(session.receive(code: .deleted)))
        #expect(w0.method == .put && w0.uriPath == ["0", "1"] && w0.contentFormat == .lwm2mTLV)
        let security = try codec.decode(w0.payload, at: .instance(0, 1), as: .tlv)
        guard case .objectInstance(let s) = security else { Issue.record("not an instance: \(security)"); return }
        #expect(s[resource: 0]?.value == .string("coap://127.0.0.1:5999"))
        #expect(s[resource: 1]?.value == .boolean(false))
        #expect(s[resource: 2]?.value == .integer(3))
        #expect(s[resource: 10]?.value == .integer(1))

        let w1 = try #require(expectSend(session.receive(code: .changed)))
        #expect(w1.method == .put && w1.uriPath == ["1", "0"])
        // Resources 0 (SSID 1), 1 (lifetime 300), 6 (storing false), 7 (binding "U"), each a resource TLV.
        #expect(w1.payload == [0xC1, 0x00, 0x01, 0xC2, 0x01, 0x01, 0x2C, 0xC1, 0x06, 0x00, 0xC1, 0x07, 0x55])

        let finish = try #require(expectSend(session.receive(code: .changed)))
        #expect(finish.method == .post && finish.uriPath == ["bs"] && finish.payload.isEmpty)
        #expect(finish.message.code == .post && finish.message.uriPathString == "/bs")

        guard case .finished(let result) = session.receive(code: .changed) else {
            Issue.record("the session did not finish")
            return
        }
        #expect(result.endpoint == "dev1")
        #expect(result.steps == [
            .delete(.object(0)), .delete(.object(1)), .write(.instance(0, 1)), .write(.instance(1, 0)), .finish,
        ])
        #expect(session.isDone)
    }

    @Test("pct=112 (1.1): writes are SenML CBOR records of the instance")
    func happyPathSenMLCBOR() throws {
        let config = LwM2MBootstrapConfiguration.noSec(serverURI: "coap://10.0.0.9:5683", lifetime: 86_400)
        var session = LwM2MBootstrapSession(endpoint: "dev2", plan: config.plan, clientPreferredFormat: .senmlCBOR)
        _ = try #require(expectSend(session.start()))
        _ = try #require(expectSend(session.receive(code: .deleted)))
        let w0 = try #require(expectSend(session.receive(code: .deleted)))
        #expect(w0.contentFormat == .senmlCBOR)
        let records = try codec.decode(records: w0.payload, as: .senmlCBOR)
        let byPath = Dictionary(uniqueKeysWithValues: records.map { ($0.path, $0.value) })
        #expect(byPath[.resource(0, 1, 0)] == .string("coap://10.0.0.9:5683"))
        #expect(byPath[.resource(0, 1, 2)].flatMap { $0 } != nil)
        #expect(byPath[.resource(0, 1, 10)].flatMap { $0 } != nil)
        let w1 = try #require(expectSend(session.receive(code: .changed)))
        #expect(w1.uriPath == ["1", "0"] && w1.contentFormat == .senmlCBOR)
        let server = try codec.decode(w1.payload, at: .instance(1, 0), as: .senmlCBOR)
        guard case .objectInstance(let s) = server else { Issue.record("not an instance"); return }
        #expect(s[resource: 1]?.value == .integer(86_400))
        #expect(s[resource: 7]?.value == .string("U"))
        let finish = try #require(expectSend(session.receive(code: .changed)))
        #expect(finish.uriPath == ["bs"])
    }

    @Test("an error response mid-session fails it, naming the step and the code")
    func errorResponse() throws {
        var session = LwM2MBootstrapSession(endpoint: "dev1", plan: LwM2MBootstrapConfiguration.noSec(serverURI: "coap://h").plan)
        _ = try #require(expectSend(session.start()))
        _ = try #require(expectSend(session.receive(code: .deleted)))
        guard case .failed(let error) = session.receive(code: .badRequest, payload: Array("nope".utf8)) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .errorResponse)
        #expect(error.step == .delete(.object(1)))
        #expect(error.responseCode == .badRequest)
        #expect(error.reason.contains("nope"))
        #expect(session.isDone)
        // Nothing more is sent after a failure.
        guard case .failed(let late) = session.receive(code: .changed) else { Issue.record("sent after failing"); return }
        #expect(late.code == .protocolViolation)
    }

    @Test("a timeout fails the session with code timeout at the current step")
    func timeout() throws {
        var session = LwM2MBootstrapSession(endpoint: "dev1", plan: LwM2MBootstrapPlan())
        let finish = try #require(expectSend(session.start()))
        #expect(finish.step == .finish)
        guard case .failed(let error) = session.transportFailed(.transmissionTimeout("4 retransmissions")) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .timeout && error.step == .finish)
    }

    @Test("Discover first; an explicit delete of the bootstrap account's Security instance is skipped")
    func discoverProtectsBootstrapAccount() throws {
        let plan = LwM2MBootstrapPlan(
            discover: true, readPaths: [.object(1)], deletePaths: [.instance(0, 0), .instance(0, 1)])
        var session = LwM2MBootstrapSession(endpoint: "dev1", plan: plan)
        let discover = try #require(expectSend(session.start()))
        #expect(discover.method == .get && discover.uriPath.isEmpty && discover.accept == .linkFormat)
        let links = "lwm2m=\"1.1\",</0/0>,</0/1>;ssid=101,</1/0>;ssid=101,</3/0>"
        let read = try #require(expectSend(session.receive(code: .content, contentFormat: .linkFormat, payload: Array(links.utf8))))
        #expect(read.method == .get && read.uriPath == ["1"] && read.accept == .lwm2mTLV)
        let delete = try #require(expectSend(session.receive(code: .content, contentFormat: .lwm2mTLV, payload: [0xC1, 0, 5])))
        #expect(delete.uriPath == ["0", "1"])  // /0/0 (no ssid: the bootstrap account) was skipped
        _ = try #require(expectSend(session.receive(code: .deleted)))
        guard case .finished(let result) = session.receive(code: .changed) else { Issue.record("not finished"); return }
        #expect(result.discovered == links)
        #expect(result.reads[.object(1)]?.payload == [0xC1, 0, 5])
    }
}
