@testable import Codecs
import LwM2MModel
import Testing

@Suite("SenML JSON and SenML CBOR")
struct SenMLCodecTests {
    let node = LwM2MNode.objectInstance(DeviceFixture.instance)
    let registry = DeviceFixture.registry

    /// Read /3/0 as in Core TS 1.1.1 section 7.4.4 (with resource 15 of the reference instance).
    static let deviceJSON = #"""
        [{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"},\#
        {"n":"2","vs":"345000123"},{"n":"3","vs":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},\#
        {"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},\#
        {"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},\#
        {"n":"14","vs":"+02:00"},{"n":"15","vs":"U"},{"n":"16","vs":"U"}]
        """#

    @Test func deviceInstanceJSONGolden() throws {
        var out: [UInt8] = []
        try SenMLJSONCodec.encode(node, at: .instance(3, 0), into: &out)
        #expect(out.text == Self.deviceJSON)
        let back = try NodeFormat.senmlJSON.decode(Array(Self.deviceJSON.utf8), at: .instance(3, 0), definitions: registry)
        #expect(back == node)
    }

    @Test func deviceInstanceCBORGolden() throws {
        var out: [UInt8] = []
        try SenMLCBORCodec.encode(node, at: .instance(3, 0), into: &out)
        // [{-2: "/3/0/", 0: "0", 3: "Open Mobile Alliance"}, {0: "1", 3: ...}, ..., {0: "6/0", 2: 1}, ...]
        #expect(hex(out).hasPrefix("91a32165" + hex(Array("/3/0/".utf8)) + "006130" + "0374"
            + hex(Array("Open Mobile Alliance".utf8)) + "a2006131" + "0376"))
        let back = try NodeFormat.senmlCBOR.decode(out, at: .instance(3, 0), definitions: registry)
        #expect(back == node)
        // {0: "13", 2: 1367491215}
        #expect(hex(out).contains("a200623133021a" + "5182428f"))
    }

    @Test func singleAndMultipleResources() throws {
        for format in [NodeFormat.senmlJSON, .senmlCBOR] {
            let single = LwM2MNode.resource(.single(9, .integer(100)))
            let s = try format.encode(single, at: .resource(3, 0, 9))
            #expect(try format.decode(s, at: .resource(3, 0, 9), definitions: registry) == single)
            let multiple = LwM2MNode.resource(.multiple(7, [0: .integer(3800), 1: .integer(5000)]))
            let m = try format.encode(multiple, at: .resource(3, 0, 7))
            #expect(try format.decode(m, at: .resource(3, 0, 7), definitions: registry) == multiple)
            let instance = LwM2MNode.resourceInstance(.init(id: 1, value: .integer(5000)))
            let i = try format.encode(instance, at: .resourceInstance(3, 0, 7, 1))
            #expect(try format.decode(i, at: .resourceInstance(3, 0, 7, 1), definitions: registry) == instance)
            let object = LwM2MNode.object(LwM2MObject(id: 3, instances: [DeviceFixture.instance]))
            let o = try format.encode(object, at: .object(3))
            #expect(try format.decode(o, at: .object(3), definitions: registry) == object)
        }
        var out: [UInt8] = []
        try SenMLJSONCodec.encode(.resource(.single(9, .integer(100))), at: .resource(3, 0, 9), into: &out)
        #expect(out.text == #"[{"bn":"/3/0/","n":"9","v":100}]"#)
    }

    @Test func everyDataType() throws {
        let values: [LwM2MValue] = [
            .string("héllo \"q\""), .integer(-5), .unsignedInteger(UInt64.max), .float(22.4), .float(-0.5),
            .boolean(true), .opaque([0, 1, 0xFB, 0xFF]), .time(1_700_000_000), .objectLink(.init(objectID: 3, instanceID: 0)),
            .coreLink("</3/0>"),
        ]
        var json: [UInt8] = []
        try SenMLJSONCodec.encode(
            records: values.enumerated().map { .init(path: .resource(9999, 0, UInt16($0.offset)), value: $0.element) },
            into: &json)
        #expect(json.text == #"""
            [{"bn":"/9999/0/","n":"0","vs":"héllo \"q\""},{"n":"1","v":-5},{"n":"2","v":18446744073709551615},\#
            {"n":"3","v":22.4},{"n":"4","v":-0.5},{"n":"5","vb":true},{"n":"6","vd":"AAH7_w"},\#
            {"n":"7","v":1700000000},{"n":"8","vlo":"3:0"},{"n":"9","vs":"</3/0>"}]
            """#)
        // Typed by a definition, every value comes back exactly, in both formats.
        let def = LwM2MObjectDefinition(
            id: 9999, name: "Types", isMultiple: true, isMandatory: false,
            resources: values.enumerated().map {
                .init(id: UInt16($0.offset), name: "r", operations: .readWrite, isMultiple: false, isMandatory: false,
                      type: $0.element.type)
            })
        let reg = LwM2MRegistry([def])
        let records = values.enumerated().map { LwM2MRecord(path: .resource(9999, 0, UInt16($0.offset)), value: $0.element) }
        for format in [NodeFormat.senmlJSON, .senmlCBOR] {
            let bytes = try format.encode(records: records)
            #expect(try format.decodeRecords(bytes, definitions: reg) == records, "\(format)")
            // Without definitions: the most faithful untyped values (time -> integer, corelnk -> string).
            let untyped = try format.decodeRecords(bytes, definitions: nil).map(\.value)
            #expect(untyped[7] == .integer(1_700_000_000))
            #expect(untyped[9] == .string("</3/0>"))
            #expect(untyped[6] == .opaque([0, 1, 0xFB, 0xFF]))
            #expect(untyped[8] == .objectLink(.init(objectID: 3, instanceID: 0)))
        }
    }

    /// RFC 8428 section 4.5.3-style resolution: base time plus relative times (time series, LwM2M Send/Notify).
    @Test func timeSeriesWithBaseTime() throws {
        let json = #"""
            [{"bn":"/3303/0/5700","bt":1320067464,"v":22.4,"t":-5},{"v":22.6,"t":-4},{"bt":1320067470,"v":22.9},\#
            {"bn":"/3303/1/","n":"5700","t":1.5,"v":18}]
            """#
        let records = try NodeFormat.senmlJSON.decodeRecords(Array(json.utf8), definitions: nil)
        #expect(records == [
            .init(path: .resource(3303, 0, 5700), value: .float(22.4), timestamp: 1_320_067_459),
            .init(path: .resource(3303, 0, 5700), value: .float(22.6), timestamp: 1_320_067_460),
            .init(path: .resource(3303, 0, 5700), value: .float(22.9), timestamp: 1_320_067_470),
            .init(path: .resource(3303, 1, 5700), value: .integer(18), timestamp: 1_320_067_471.5),
        ])
        // Encoding writes a base time whenever the time stamp changes; both formats round-trip.
        for format in [NodeFormat.senmlJSON, .senmlCBOR] {
            let bytes = try format.encode(records: records)
            #expect(try format.decodeRecords(bytes, definitions: nil) == records)
        }
        var out: [UInt8] = []
        try SenMLJSONCodec.encode(records: Array(records.prefix(2)), into: &out)
        #expect(out.text == #"[{"bn":"/3303/0/","bt":1320067459,"n":"5700","v":22.4},{"bt":1320067460,"n":"5700","v":22.6}]"#)
    }

    /// The Read-Composite request body: records that only name paths.
    @Test func readCompositeBody() throws {
        // After bn "/3/0/", a name "/5" resolves to "/3/0//5": rejected.
        let json = #"[{"n":"/3/0/9"},{"n":"/1/0"},{"bn":"/3/0/","n":"7/1"},{"n":"/5"}]"#
        #expect(throws: LwM2MCodecError(code: .invalidPath, reason: "")) {
            try NodeFormat.senmlJSON.decodeRecords(Array(json.utf8), definitions: nil)
        }
        let strict = #"[{"n":"/3/0/9"},{"n":"/1/0"},{"bn":"/3/0/","n":"7/1"}]"#
        let ok = try NodeFormat.senmlJSON.decodeRecords(Array(strict.utf8), definitions: nil)
        #expect(ok.map(\.path) == [.resource(3, 0, 9), .instance(1, 0), .resourceInstance(3, 0, 7, 1)])
        #expect(ok.allSatisfy { $0.value == nil && $0.timestamp == nil })
        let request: [LwM2MRecord] = [.init(path: .resource(3, 0, 9), value: nil), .init(path: .instance(1, 0), value: nil),
                                      .init(path: .object(5), value: nil)]
        var out: [UInt8] = []
        try SenMLJSONCodec.encode(records: request, into: &out)
        #expect(out.text == #"[{"bn":"/3/0/","n":"9"},{"bn":"/1/0"},{"bn":"/5"}]"#)
        for format in [NodeFormat.senmlJSON, .senmlCBOR] {
            #expect(try format.decodeRecords(try format.encode(records: request), definitions: nil) == request)
        }
        // A node cannot be built from value-less records.
        #expect(throws: LwM2MCodecError(code: .malformed, reason: "")) {
            try NodeFormat.senmlJSON.decode(Array(#"[{"n":"/3/0/9"}]"#.utf8), at: .instance(3, 0), definitions: nil)
        }
    }

    @Test func indefiniteLengthsDecode() throws {
        // [_ {_ -2: (_ "/3/0/", "9"), 2: 100 }, {0: "", ...}] — built by hand.
        var b: [UInt8] = [0x9F, 0xBF, 0x21, 0x7F]
        b += [0x65] + Array("/3/0/".utf8) + [0x61] + Array("9".utf8) + [0xFF]
        b += [0x02, 0x18, 0x64, 0xFF]
        b += [0xA2, 0x21, 0x66] + Array("/3/0/7".utf8) + [0x02, 0x19, 0x0E, 0xD8]
        b += [0xFF]
        let records = try NodeFormat.senmlCBOR.decodeRecords(b, definitions: nil)
        #expect(records == [.init(path: .resource(3, 0, 9), value: .integer(100)),
                            .init(path: .resource(3, 0, 7), value: .integer(3800))])
    }

    @Test func cborLabelsAndHalfFloats() throws {
        // [{-2: "/3303/0/", 0: "5700", 2: 22.5 (half), -3: 1.5e9 (single), 6: -1}, {"vlo": "3:1", 0: "5750"}]
        var b: [UInt8] = [0x82, 0xA5, 0x21, 0x68] + Array("/3303/0/".utf8) + [0x00, 0x64] + Array("5700".utf8)
        b += [0x02, 0xF9, 0x4D, 0xA0, 0x22, 0xFA, 0x4E, 0xB2, 0xD0, 0x5E, 0x06, 0x20]
        b += [0xA2, 0x63] + Array("vlo".utf8) + [0x63] + Array("3:1".utf8) + [0x00, 0x64] + Array("5750".utf8)
        let records = try NodeFormat.senmlCBOR.decodeRecords(b, definitions: nil)
        #expect(records == [
            .init(path: .resource(3303, 0, 5700), value: .float(22.5), timestamp: 1_499_999_999),
            .init(path: .resource(3303, 0, 5750), value: .objectLink(.init(objectID: 3, instanceID: 1)),
                  timestamp: 1_500_000_000),
        ])
    }

    @Test func baseValueAndUnknownLabels() throws {
        let json = #"[{"bn":"/1/0/","bver":10,"bv":10,"n":"1","v":5,"u":"s","x":{"y":[1]}}]"#
        let records = try NodeFormat.senmlJSON.decodeRecords(Array(json.utf8), definitions: nil)
        #expect(records == [.init(path: .resource(1, 0, 1), value: .float(15))])
        for bad in [#"[{"n":"/1/0/1","v":1,"z_":1}]"#, #"[{"n":"/1/0/1","v":1,"vs":"x"}]"#,
                    #"[{"n":"/1/0/1","n":"/1/0/2","v":1}]"#, #"[{"bver":11,"n":"/1/0/1","v":1}]"#] {
            #expect(throws: LwM2MCodecError(code: .malformed, reason: ""), "\(bad)") {
                try NodeFormat.senmlJSON.decodeRecords(Array(bad.utf8), definitions: nil)
            }
        }
    }

    @Test func namesMustBeLwM2MPaths() {
        // RFC 8428 section 5.1.1's URN names are valid SenML but not LwM2M paths.
        let rfc = #"[{"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}]"#
        for bad in [rfc, #"[{"n":"/3/0/9/"}]"#, #"[{"n":"/3/00/9"}]"#, #"[{"n":"/3/0/65535"}]"#,
                    #"[{"n":"/1/2/3/4/5"}]"#, #"[{"v":1}]"#, #"[{"bn":"/3/0","n":"9","v":1}]"#] {
            #expect(throws: LwM2MCodecError(code: .invalidPath, reason: ""), "\(bad)") {
                try NodeFormat.senmlJSON.decodeRecords(Array(bad.utf8), definitions: nil)
            }
        }
    }

    @Test func typingAndStructureErrors() {
        // Battery Level as a string, a fraction for an integer, a duplicate path, a path outside the request.
        let cases: [(String, LwM2MCodecError.Code)] = [
            (#"[{"n":"/3/0/9","vs":"x"}]"#, .typeMismatch),
            (#"[{"n":"/3/0/9","v":1.5}]"#, .typeMismatch),
            (#"[{"n":"/3/0/9","v":1},{"n":"/3/0/9","v":2}]"#, .duplicatePath),
            (#"[{"n":"/4/0/9","v":1}]"#, .invalidPath),
            (#"[{"n":"/3/0/9","vlo":"3"}]"#, .typeMismatch),
            (#"[{"n":"/3/0/9","vd":"!!"}]"#, .malformed),
            (#"[{"n":"/3/0/9","vb":1}]"#, .typeMismatch),
            (#"[{"n":"/3/0/9","v":1}] ,"#, .trailingBytes),
            (#"[{"n":"/3/0/9","v":1}"#, .truncated),
        ]
        for (json, code) in cases {
            #expect(throws: LwM2MCodecError(code: code, reason: ""), "\(json)") {
                try NodeFormat.senmlJSON.decode(Array(json.utf8), at: .instance(3, 0), definitions: registry)
            }
        }
    }

    @Test func encoderRejectsMismatchedPathsAndNonFiniteJSON() {
        #expect(throws: LwM2MCodecError(code: .invalidPath, reason: "")) {
            try NodeFormat.senmlJSON.encode(node, at: .instance(3, 1))
        }
        #expect(throws: LwM2MCodecError(code: .notAcceptable, reason: "")) {
            try NodeFormat.senmlJSON.encode(.resource(.single(1, .float(.nan))), at: .resource(3, 0, 1))
        }
        // CBOR carries it.
        #expect(throws: Never.self) {
            try NodeFormat.senmlCBOR.encode(.resource(.single(1, .float(.nan))), at: .resource(3, 0, 1))
        }
    }
}

/// The example of docs/Codecs-SenML.md, kept compiling and true.
@Suite("Codecs SenML documentation example")
struct SenMLDocumentationExampleTests {
    @Test func example() throws {
        let node = LwM2MNode.objectInstance(LwM2MObjectInstance(id: 0, resources: [
            .single(0, .string("Open Mobile Alliance")),
            .multiple(7, [0: .integer(3800), 1: .integer(5000)]),
            .single(13, .time(1_367_491_215)),
        ]))
        var payload: [UInt8] = []
        try SenMLCBORCodec.encode(node, at: .instance(3, 0), into: &payload)

        let registry = DeviceFixture.registry
        let decoded = try payload.withUnsafeBytes { bytes in
            try SenMLCBORCodec.decode(bytes, at: .instance(3, 0), definitions: registry)
        }
        #expect(decoded == node)

        let series = [
            LwM2MRecord(path: .resource(3303, 0, 5700), value: .float(22.4), timestamp: 1_700_000_000),
            LwM2MRecord(path: .resource(3303, 0, 5700), value: .float(22.6), timestamp: 1_700_000_060),
        ]
        var json: [UInt8] = []
        try SenMLJSONCodec.encode(records: series, into: &json)
        #expect(json.text == #"[{"bn":"/3303/0/","bt":1700000000,"n":"5700","v":22.4},{"bt":1700000060,"n":"5700","v":22.6}]"#)
    }
}
