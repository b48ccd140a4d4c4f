import CoAPCore
import LwM2MModel
import Logging
import NIOCore
import Testing

@testable import ServerKit

@Suite("Management command layer")
struct CommandLayerTests {
    let fake = FakeDownlink(registrations: [testRegistration()])
    var runner: LwM2MCommandRunner { LwM2MCommandRunner(operations: fake, definitions: testRegistry) }

    func run(_ method: String, _ params: String? = nil, endpoint: String = "dev1") async -> String {
        await runner.run(endpoint: endpoint, method: method, params: params).json.jsonText
    }

    @Test("Read by id and by key gives CONTENT with the value as a JSON scalar")
    func readResource() async {
        await fake.setNode(.resource(.single(9, .integer(95))), at: .resource(3, 0, 9))
        #expect(await run("Read", #"{"id":"/3/0/9"}"#) == #"{"endpoint":"dev1","method":"Read","result":"CONTENT","value":95}"#)
        #expect(await run("read", #"{"key":"batteryLevel"}"#) == #"{"endpoint":"dev1","method":"Read","result":"CONTENT","value":95}"#)
        #expect(await run("Read", #"{"id":"/3_1.1/0/9"}"#).contains(#""value":95"#))
        #expect(await fake.calls == ["read dev1 /3/0/9", "read dev1 /3/0/9", "read dev1 /3/0/9"])
    }

    @Test("Instances, multiple resources and objects have the documented JSON shapes")
    func shapes() async {
        let instance = LwM2MObjectInstance(
            id: 0,
            resources: [
                .single(0, .string("Acme")), .single(9, .integer(75)), .multiple(11, [0: .integer(0), 1: .integer(5)]),
                .single(13, .time(1_625_000_000)), .single(16, .string("U")),
            ])
        await fake.setNode(.objectInstance(instance), at: .instance(3, 0))
        #expect(
            await run("Read", #"{"id":"/3/0"}"#)
                == #"{"endpoint":"dev1","method":"Read","result":"CONTENT","value":{"0":"Acme","9":75,"11":{"0":0,"1":5},"13":1625000000,"16":"U"}}"#
        )
        let object = LwM2MObject(
            id: 19,
            instances: [
                LwM2MObjectInstance(id: 0, resources: [.multiple(0, [0: .opaque([0x00, 0xAD])]), .single(1, .float(2.5))]),
                LwM2MObjectInstance(id: 1, resources: [.single(1, .boolean(true))]),
            ])
        await fake.setNode(.object(object), at: .object(19))
        #expect(
            await run("Read", #"{"id":"/19"}"#)
                == #"{"endpoint":"dev1","method":"Read","result":"CONTENT","value":{"0":{"0":{"0":"00ad"},"1":2.5},"1":{"1":true}}}"#
        )
    }

    @Test("WriteUpdate and WriteReplace type JSON values with the object definitions")
    func writes() async throws {
        #expect(
            await run("WriteUpdate", #"{"id":"/3/0","value":{"14":"+5","15":"Kiyv/Europe"}}"#)
                == #"{"endpoint":"dev1","method":"WriteUpdate","result":"CHANGED"}"#)
        #expect(await run("WriteReplace", #"{"key":"timezone","value":"+10"}"#).contains("CHANGED"))
        #expect(await run("WriteReplace", #"{"id":"/19/0/0","value":{"0":"00ad456756","25":"25AD"}}"#).contains("CHANGED"))
        #expect(await run("WriteReplace", #"{"id":"/19/0/0","value":"0081"}"#).contains("CHANGED"))
        #expect(await run("WriteReplace", #"{"id":"/1/0/1","value":"300"}"#).contains("CHANGED"))
        #expect(await run("WriteReplace", #"{"id":"/3/0/13","value":"2021-07-01T00:00:00Z"}"#).contains("CHANGED"))
        let writes = await fake.writes
        #expect(writes.count == 6)
        #expect(writes[0].0 == .instance(3, 0))
        #expect(writes[0].1 == .objectInstance(LwM2MObjectInstance(id: 0, resources: [.single(14, .string("+5")), .single(15, .string("Kiyv/Europe"))])))
        #expect(writes[0].2 == .partialUpdate)
        #expect(writes[1].0 == .resource(3, 0, 15))
        #expect(writes[1].1 == .resource(.single(15, .string("+10"))))
        #expect(writes[1].2 == .replace)
        #expect(writes[2].1 == .resource(.multiple(0, [0: .opaque([0x00, 0xAD, 0x45, 0x67, 0x56]), 25: .opaque([0x25, 0xAD])])))
        #expect(writes[3].1 == .resource(.multiple(0, [0: .opaque([0x00, 0x81])])))
        #expect(writes[4].1 == .resource(.single(1, .integer(300))))
        #expect(writes[5].1 == .resource(.single(13, .time(1_625_097_600))))
    }

    @Test(
        "Bad parameters are BAD_REQUEST with a reason and send nothing",
        arguments: [
            ("Read", #"{}"#), ("Read", #"{"id":"/3/x/9"}"#), ("Read", #"{"id":"/3/0/9/1/2"}"#), ("Read", #"{"key":"nope"}"#),
            ("Read", #"[1]"#), ("Read", #"{"id":"#), ("Frobnicate", #"{}"#), ("WriteReplace", #"{"id":"/3/0/9"}"#),
            ("WriteReplace", #"{"id":"/3/0/9","value":"many"}"#), ("WriteReplace", #"{"id":"/19/0/0","value":"0g"}"#),
            ("WriteReplace", #"{"id":"/3/0/9","value":1.5}"#), ("WriteAttributes", #"{"id":"/3/0/9","attributes":{"foo":1}}"#),
            ("WriteAttributes", #"{"id":"/3/0/9","attributes":{"pmin":"x"}}"#), ("Execute", #"{"id":"/3/0"}"#),
            ("Create", #"{"id":"/19/0/1"}"#), ("ReadComposite", #"{"ids":[]}"#), ("ReadComposite", #"{"ids":"/3"}"#),
            ("WriteComposite", #"{"nodes":{"/3/0":1}}"#), ("Read", #"{"id":"/3/0/9","contentFormat":"XML"}"#),
        ])
    func badParameters(method: String, params: String) async {
        let result = await runner.run(endpoint: "dev1", method: method, params: params)
        #expect(result.result == "BAD_REQUEST")
        #expect(result.error != nil)
        #expect(await fake.calls.isEmpty)
    }

    @Test("WriteAttributes, Execute, Create and Delete send what the command says")
    func otherOperations() async throws {
        #expect(await run("WriteAttributes", #"{"id":"/19/0/0","attributes":{"pmax":120,"pmin":10,"gt":null,"st":0.5}}"#).contains("CHANGED"))
        #expect(await fake.attributes == ["gt", "pmax=120", "pmin=10", "st=0.5"])
        #expect(await run("Execute", #"{"id":"5/0/2"}"#) == #"{"endpoint":"dev1","method":"Execute","result":"CHANGED"}"#)
        #expect(await fake.executeArguments == .some(nil))
        #expect(await run("Execute", #"{"key":"reboot","value":"0='x'"}"#).contains("CHANGED"))
        #expect(await fake.executeArguments == .some("0='x'"))
        #expect(
            await run("Create", #"{"id":"/19/1","value":{"0":{"0":"00AC"},"1":1}}"#)
                == #"{"endpoint":"dev1","method":"Create","result":"CREATED","value":"/19/1"}"#)
        let created = try #require(await fake.created)
        #expect(created.0 == 19)
        #expect(created.1 == 1)
        #expect(created.2 == [.multiple(0, [0: .opaque([0x00, 0xAC])]), .single(1, .integer(1))])
        #expect(await run("Create", #"{"id":"/19","value":{"1":2}}"#).contains(#""value":"/19/7""#))
        #expect(await run("Delete", #"{"id":"/19/1"}"#) == #"{"endpoint":"dev1","method":"Delete","result":"DELETED"}"#)
        #expect(await run("Discover", #"{"id":"/3"}"#).contains(#""value":"</3>""#))
        #expect(
            await fake.calls == [
                "writeAttributes dev1 /19/0/0", "execute dev1 /5/0/2", "execute dev1 /3/0/4", "create dev1 /19", "create dev1 /19",
                "delete dev1 /19/1", "discover dev1 /3",
            ])
    }

    @Test("Composite reads and writes use path-to-value objects, by ids or keys")
    func composite() async throws {
        await fake.setRecords([
            LwM2MRecord(path: .resource(3, 0, 9), value: .integer(75)), LwM2MRecord(path: .resource(1, 0, 1), value: .integer(300)),
        ])
        #expect(
            await run("ReadComposite", #"{"ids":["/3/0/9", "/1_1.2"]}"#)
                == #"{"endpoint":"dev1","method":"ReadComposite","result":"CONTENT","value":{"/1/0/1":300,"/3/0/9":75}}"#)
        #expect(await run("ReadComposite", #"{"keys":["batteryLevel","lifetime"]}"#).contains("CONTENT"))
        let written = await run("WriteComposite", #"{"nodes":{"/3/0/14":"+04","/1/0/2":100,"packageUri":"coap://localhost:5685"}}"#)
        #expect(written.contains("CHANGED"), "\(written)")
        #expect(
            await fake.composite.sorted { $0.path < $1.path } == [
                LwM2MRecord(path: .resource(1, 0, 2), value: .integer(100)),
                LwM2MRecord(path: .resource(3, 0, 14), value: .string("+04")),
                LwM2MRecord(path: .resource(5, 0, 1), value: .string("coap://localhost:5685")),
            ])
        #expect(
            await fake.calls.prefix(2) == ["readComposite dev1 /3/0/9,/1", "readComposite dev1 /3/0/9,/1/0/1"])
    }

    @Test("Observe, ObserveReadAll, ObserveCancel, ObserveComposite and ObserveCancelAll")
    func observations() async {
        await fake.setNode(.resource(.single(9, .integer(28))), at: .resource(3, 0, 9))
        #expect(await run("Observe", #"{"id":"/3/0/9"}"#) == #"{"endpoint":"dev1","method":"Observe","result":"CONTENT","value":28}"#)
        await fake.setRecords([LwM2MRecord(path: .resource(3, 0, 9), value: .integer(28))])
        #expect(await run("ObserveComposite", #"{"ids":["/3/0/9","/1/0/1"]}"#).contains(#""value":{"/3/0/9":28}"#))
        #expect(
            await run("ObserveReadAll")
                == #"{"endpoint":"dev1","method":"ObserveReadAll","result":"CONTENT","value":"[\"/3/0/9\",[\"/3/0/9\",\"/1/0/1\"]]"}"#)
        // Counts are strings, as in ThingsBoard's guide: {"result":"CONTENT","value":"1"}.
        #expect(await run("ObserveCancel", #"{"key":"batteryLevel","active":false}"#).contains(#""value":"1""#))
        #expect(await run("ObserveCompositeCancel", #"{"ids":["/3/0/9","/1/0/1"]}"#).contains(#""value":"1""#))
        #expect(await run("Observe", #"{"id":"/3/0/9"}"#).contains("CONTENT"))
        #expect(await run("ObserveCancelAll") == #"{"endpoint":"dev1","method":"ObserveCancelAll","result":"CONTENT","value":"1"}"#)
        #expect(await fake.calls.contains("cancel dev1 /3/0/9 passive"))
    }

    @Test("DiscoverAll answers from the registration without a request")
    func discoverAll() async {
        #expect(
            await run("DiscoverAll")
                == #"{"endpoint":"dev1","method":"DiscoverAll","result":"CONTENT","value":"[{\"url\":\"/\",\"attributes\":{\"ct\":\"110\",\"rt\":\"\\\"oma.lwm2m\\\"\"}},{\"url\":\"/1\",\"attributes\":{\"ver\":\"1.1\"}},{\"url\":\"/1/0\",\"attributes\":{}},{\"url\":\"/3/0\",\"attributes\":{}}]"}"#
        )
        #expect(await fake.calls.isEmpty)
    }

    @Test("DiscoverAll of a registration parsed from the wire matches ThingsBoard's guide byte for byte")
    func discoverAllMatchesGuide() async throws {
        var machine = RegistrationStateMachine(logger: .init(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let links = #"</>;rt="oma.lwm2m";ct=110,</1>;ver=1.1,</1/0>,</2/0>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,"#
            + #"</31024>;ver=1.0,</31024/10>,</31024/11>,</31024/12>"#
        let output = machine.handle(
            request(.post, ["rd"], query: ["ep=dev1", "lt=60", "lwm2m=1.1"], payload: links), from: address(), now: .now())
        guard case .registered(let registration, _)? = output.events.first else {
            Issue.record("not registered: \(String(describing: output.response))")
            return
        }
        let runner = LwM2MCommandRunner(
            operations: FakeDownlink(registrations: [registration]), definitions: testRegistry)
        let result = await runner.run(endpoint: "dev1", method: "DiscoverAll", params: nil)
        // The response line of the guide's "Discover All Operation" example, after its "value": (joined lines).
        let guide = #"{"result":"CONTENT","value":"[{\"url\":\"/\",\"attributes\":{\"ct\":\"110\",\"rt\":\"\\\"oma.lwm2m\\\"\"}},"#
            + #"{\"url\":\"/1\",\"attributes\":{\"ver\":\"1.1\"}},{\"url\":\"/1/0\",\"attributes\":{}},{\"url\":\"/2/0\","#
            + #"\"attributes\":{}},{\"url\":\"/3/0\",\"attributes\":{}},{\"url\":\"/4/0\",\"attributes\":{}},{\"url\":\"/5/0\","#
            + #"\"attributes\":{}},{\"url\":\"/6/0\",\"attributes\":{}},{\"url\":\"/7/0\",\"attributes\":{}},{\"url\":\"/31024\","#
            + #"\"attributes\":{\"ver\":\"1.0\"}},{\"url\":\"/31024/10\",\"attributes\":{}},{\"url\":\"/31024/11\",\"attributes\":{}},"#
            + #"{\"url\":\"/31024/12\",\"attributes\":{}}]"}"#
        let ours = LwM2MCommandResult(endpoint: nil, method: nil, result: result.result, value: result.value)
        #expect(ours.json.jsonText == guide)
    }

    @Test("Failures map to ThingsBoard result names", arguments: [
        (LwM2MServerError.errorResponse(.notFound), "NOT_FOUND"),
        (LwM2MServerError.errorResponse(.methodNotAllowed), "METHOD_NOT_ALLOWED"),
        (LwM2MServerError.errorResponse(.notAcceptable), "NOT_ACCEPTABLE"),
        (LwM2MServerError.errorResponse(.unsupportedContentFormat), "UNSUPPORTED_CONTENT_FORMAT"),
        (LwM2MServerError.errorResponse(.badRequest), "BAD_REQUEST"),
        (LwM2MServerError.errorResponse(.internalServerError), "INTERNAL_SERVER_ERROR"),
        (LwM2MServerError.timeout(), "TIMEOUT"),
    ])
    func failures(error: LwM2MServerError, name: String) async {
        await fake.fail(with: error)
        let result = await runner.run(endpoint: "dev1", method: "Read", params: #"{"id":"/3/0/9"}"#)
        #expect(result.result == name)
        #expect(result.value == nil)
        #expect(result.error != nil)
    }

    @Test("An unregistered endpoint is NOT_FOUND; a content-format override is passed through")
    func unregisteredAndFormat() async {
        let result = await runner.run(endpoint: "ghost", method: "Read", params: #"{"id":"/3/0/9"}"#)
        #expect(result.json.jsonText == #"{"endpoint":"ghost","method":"Read","result":"NOT_FOUND","error":"endpoint ghost is not registered"}"#)
        await fake.setNode(.resource(.single(9, .integer(1))), at: .resource(3, 0, 9))
        _ = await run("Read", #"{"id":"/3/0/9","contentFormat":"SENML_CBOR"}"#)
        _ = await run("Read", #"{"id":"/3/0/9","contentFormat":11542}"#)
        #expect(await fake.formats == [.senmlCBOR, .lwm2mTLV])
    }
}

@Suite("Command layer parsing and formatting")
struct CommandParsingTests {
    @Test("Console lines", arguments: [
        ("dev1 Read {\"id\":\"/3/0/9\"}", LwM2MConsoleInput.command(endpoint: "dev1", method: "Read", params: "{\"id\":\"/3/0/9\"}")),
        ("  dev1   ObserveCancelAll", .command(endpoint: "dev1", method: "ObserveCancelAll", params: nil)),
        ("clients", .clients), ("", .empty), ("# note", .empty), ("dev1", .invalid("expected `<endpoint> <Method> [<json>]` or `clients`")),
    ])
    func consoleLines(line: String, expected: LwM2MConsoleInput) {
        #expect(LwM2MConsoleInput(line: line) == expected)
    }

    @Test("Default keys are lowerCamelCase registry names; the lower object ID wins a clash; overrides win")
    func keys() throws {
        #expect(ResourceKeyMap.defaultKey(for: "Battery Level") == "batteryLevel")
        #expect(ResourceKeyMap.defaultKey(for: "SMS Number") == "smsNumber")
        #expect(ResourceKeyMap.defaultKey(for: "UTC Offset") == "utcOffset")
        #expect(ResourceKeyMap.defaultKey(for: "Package URI") == "packageUri")
        #expect(ResourceKeyMap.defaultKey(for: "PkgName") == "pkgName")
        #expect(ResourceKeyMap.defaultKey(for: "Supported Binding and Modes") == "supportedBindingAndModes")
        #expect(ResourceKeyMap.defaultKey(for: "Short Server ID") == "shortServerId")
        var map = ResourceKeyMap(registry: testRegistry)
        let reg = testRegistration(objects: [RegisteredObject(id: 3, instances: [0]), RegisteredObject(id: 9, instances: [4])])
        #expect(map.path(for: "batteryLevel", registration: reg) == .resource(3, 0, 9))
        #expect(map.path(for: "state", registration: reg) == .resource(5, 0, 3))
        #expect(map.path(for: "install", registration: reg) == .resource(9, 4, 4))
        #expect(map.path(for: "nothing", registration: reg) == nil)
        try map.loadOverrides(json: #"{"state": "/9/4/7"}"#)
        #expect(map.path(for: "state", registration: reg) == .resource(9, 4, 7))
        try map.loadOverrides(json: #"{"keyName": {"/3_1.2/0/9": "battery"}}"#)
        #expect(map.path(for: "battery", registration: reg) == .resource(3, 0, 9))
        #expect(throws: LwM2MServerError.self) { try map.loadOverrides(json: #"{"x": "/3/0"}"#) }
        #expect(throws: LwM2MServerError.self) { try map.loadOverrides(json: "[]") }
    }

    @Test("Path text accepts a leading slash or not and a version hint", arguments: [
        ("/3/0/9", LwM2MPath.resource(3, 0, 9), nil as String?), ("3/0/9", .resource(3, 0, 9), nil), ("/", .root, nil),
        ("/3_1.1/0/9", .resource(3, 0, 9), "1.1"), ("/3/0/11/2", .resourceInstance(3, 0, 11, 2), nil),
    ])
    func paths(text: String, path: LwM2MPath, version: String?) throws {
        let parsed = try #require(LwM2MPathText(text))
        #expect(parsed.path == path)
        #expect(parsed.objectVersion == version)
    }

    @Test("Bad path text is refused", arguments: ["/3/", "//3", "/3/0/9/1/1", "/65535", "/3_x/0", "/3/0_1.0", "/x", "/3/-1", "/999999"])
    func badPaths(text: String) {
        #expect(LwM2MPathText(text) == nil)
    }

    @Test("JSON text round-trips with escapes; deep nesting and non-objects are refused as parameters")
    func json() throws {
        let v = try JSONValue.parse(#"{"b":[1,-2,3.5,true,null,"x\"y\n\u0001"],"a":18446744073709551615}"#)
        #expect(v.jsonText == #"{"a":18446744073709551615,"b":[1,-2,3.5,true,null,"x\"y\n\u0001"]}"#)
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: (any Error).self) { try JSONValue.parse(deep) }
        #expect(throws: LwM2MServerError.self) { try LwM2MCommand(method: "Read", params: "[]") }
        #expect(try LwM2MCommand(method: "observecancelall", params: nil).method == .observeCancelAll)
    }

    @Test("Events render as one JSON object each")
    func events() {
        let r = testRegistration()
        let notification = LwM2MNotification(
            observation: Observation(
                token: CoAPToken(value: 1, length: 2), registrationID: r.id, endpoint: "dev1", target: .path(.resource(3, 0, 9)),
                createdAt: .uptimeNanoseconds(0)),
            sequence: nil, contentFormat: .senmlCBOR, content: .node(.resource(3, 0, 9), .resource(.single(9, .integer(94)))),
            receivedAt: .uptimeNanoseconds(1))
        #expect(
            LwM2MServerEvent.notification(notification).json.jsonText
                == #"{"event":"notification","endpoint":"dev1","path":"/3/0/9","value":94}"#)
        #expect(
            LwM2MServerEvent.deregistered(r).json.jsonText == #"{"event":"deregistered","endpoint":"dev1","registrationId":"reg-dev1"}"#)
        #expect(
            LwM2MServerEvent.registered(r, replaced: nil).json.jsonText
                == #"{"event":"registered","endpoint":"dev1","registrationId":"reg-dev1","address":"127.0.0.1:5999","lifetime":60,"lwm2m":"1.1","binding":"U","queueMode":false,"security":"nosec","objects":[{"id":1,"ver":"1.1","instances":[0]},{"id":3,"instances":[0]},{"id":19,"instances":[0,1]}]}"#
        )
        let send = LwM2MSendReport(
            endpoint: "dev1", registrationID: r.id, contentFormat: .senmlJSON,
            records: [LwM2MRecord(path: .resource(3, 0, 9), value: .integer(5), timestamp: 1_700_000_000)],
            receivedAt: .uptimeNanoseconds(0))
        #expect(
            LwM2MServerEvent.send(send).json.jsonText
                == #"{"event":"send","endpoint":"dev1","records":[{"path":"/3/0/9","value":5,"time":1700000000.0}]}"#)
    }
}
