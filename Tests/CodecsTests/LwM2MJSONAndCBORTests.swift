@testable import Codecs
import LwM2MModel
import Testing

@Suite("LwM2M JSON, LwM2M CBOR and CBOR single values")
struct LwM2MJSONAndCBORTests {
    let node = LwM2MNode.objectInstance(DeviceFixture.instance)
    let registry = DeviceFixture.registry

    /// Read /3/0 in LwM2M JSON as in Core TS 1.0.2 section 6.4.4.
    @Test func lwm2mJSONDeviceGolden() throws {
        var out: [UInt8] = []
        try LwM2MJSONCodec.encode(node, at: .instance(3, 0), into: &out)
        let expected = #"""
            {"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},\#
            {"n":"2","sv":"345000123"},{"n":"3","sv":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},\#
            {"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},\#
            {"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},\#
            {"n":"14","sv":"+02:00"},{"n":"15","sv":"U"},{"n":"16","sv":"U"}]}
            """#
        #expect(out.text == expected)
        #expect(try NodeFormat.lwm2mJSON.decode(out, at: .instance(3, 0), definitions: registry) == node)
    }

    @Test func lwm2mJSONKeysInAnyOrderAndTimes() throws {
        let json = #"""
            { "e": [ {"v": 22.4, "n": "5700", "t": -5}, {"n":"5701","sv":"Cel"}, {"n":"5750","ov":"3:0"},
                     {"n":"5850","bv":false} ],
              "bt": 1320067464, "bn": "/3303/0/" }
            """#
        let records = try NodeFormat.lwm2mJSON.decodeRecords(Array(json.utf8), definitions: nil)
        #expect(records == [
            .init(path: .resource(3303, 0, 5700), value: .float(22.4), timestamp: 1_320_067_459),
            .init(path: .resource(3303, 0, 5701), value: .string("Cel"), timestamp: 1_320_067_464),
            .init(path: .resource(3303, 0, 5750), value: .objectLink(.init(objectID: 3, instanceID: 0)),
                  timestamp: 1_320_067_464),
            .init(path: .resource(3303, 0, 5850), value: .boolean(false), timestamp: 1_320_067_464),
        ])
        var out: [UInt8] = []
        try LwM2MJSONCodec.encode(records: records, into: &out)
        #expect(try NodeFormat.lwm2mJSON.decodeRecords(out, definitions: nil) == records)
    }

    @Test func lwm2mJSONRecordsAcrossObjects() throws {
        let records: [LwM2MRecord] = [
            .init(path: .resource(3, 0, 9), value: .integer(100)),
            .init(path: .resourceInstance(1, 0, 7, 1), value: .string("U"), timestamp: 10),
        ]
        var out: [UInt8] = []
        try LwM2MJSONCodec.encode(records: records, into: &out)
        #expect(out.text == #"{"bn":"/","e":[{"n":"3/0/9","v":100},{"n":"1/0/7/1","sv":"U","t":10}]}"#)
        #expect(try NodeFormat.lwm2mJSON.decodeRecords(out, definitions: nil) == records)
        #expect(throws: LwM2MCodecError(code: .notAcceptable, reason: "")) {
            try NodeFormat.lwm2mJSON.encode(records: [.init(path: .instance(3, 0), value: nil)])
        }
    }

    @Test func lwm2mJSONOpaqueIsBase64ByDefinition() throws {
        let def = LwM2MObjectDefinition(
            id: 5, name: "Firmware Update", isMultiple: false, isMandatory: false,
            resources: [.init(id: 0, name: "Package", operations: .write, isMultiple: false, isMandatory: true, type: .opaque)])
        let reg = LwM2MRegistry([def])
        let value = LwM2MNode.resource(.single(0, .opaque(Array("hello".utf8))))
        var out: [UInt8] = []
        try LwM2MJSONCodec.encode(value, at: .resource(5, 0, 0), into: &out)
        #expect(out.text == #"{"bn":"/5/0/","e":[{"n":"0","sv":"aGVsbG8="}]}"#)
        #expect(try NodeFormat.lwm2mJSON.decode(out, at: .resource(5, 0, 0), definitions: reg) == value)
        // Unknown object: the text stays text.
        #expect(try NodeFormat.lwm2mJSON.decode(out, at: .resource(5, 0, 0), definitions: nil)
            == .resource(.single(0, .string("aGVsbG8="))))
    }

    @Test func lwm2mCBORDeviceShape() throws {
        var out: [UInt8] = []
        try LwM2MCBORCodec.encode(node, at: .instance(3, 0), into: &out)
        // {[3, 0]: {0: "Open Mobile Alliance", ...}}: a1 82 03 00 ae 00 74 ...
        #expect(hex(Array(out.prefix(7))) == "a1820300ae0074")
        #expect(hex(out).contains("06a2000101050" + "7a200190ed80119138"))  // 6: {0: 1, 1: 5}, 7: {0: 3800, 1: 5000}
        #expect(try NodeFormat.lwm2mCBOR.decode(out, at: .instance(3, 0), definitions: registry) == node)
    }

    @Test func lwm2mCBORAcceptsAnyKeySplit() throws {
        // {3: {[0, 9]: 100, 0: {7: {_ 1: 5000}}}} and {[3, 0, 7, 1]: 5000}
        let a = bytes(hex: "a103a2820009186400a107bf01191388ff")
        #expect(try NodeFormat.lwm2mCBOR.decodeRecords(a, definitions: nil) == [
            .init(path: .resource(3, 0, 9), value: .integer(100)),
            .init(path: .resourceInstance(3, 0, 7, 1), value: .integer(5000)),
        ])
        let b = bytes(hex: "a18403000701191388")
        #expect(try NodeFormat.lwm2mCBOR.decode(b, at: .resourceInstance(3, 0, 7, 1), definitions: registry)
            == .resourceInstance(.init(id: 1, value: .integer(5000))))
        for (h, code) in [("a18203000a", LwM2MCodecError.Code.invalidPath),  // value at /3/0
                          ("a18403000701a10000", .invalidPath),  // map below a resource instance
                          ("a180a0", .malformed), ("a161610a", .malformed), ("a2", .truncated)] {
            #expect(throws: LwM2MCodecError(code: code, reason: ""), "\(h)") {
                try NodeFormat.lwm2mCBOR.decodeRecords(bytes(hex: h), definitions: nil)
            }
        }
    }

    @Test func lwm2mCBORRecordsNestByPath() throws {
        let records: [LwM2MRecord] = [
            .init(path: .resource(3, 0, 9), value: .integer(100)),
            .init(path: .resourceInstance(3, 0, 7, 1), value: .integer(5000)),
            .init(path: .resource(1, 0, 1), value: .integer(300)),
        ]
        var out: [UInt8] = []
        try LwM2MCBORCodec.encode(records: records, into: &out)
        // {1: {0: {1: 300}}, 3: {0: {7: {1: 5000}, 9: 100}}}
        #expect(hex(out) == "a201a100a10119012c03a100a207a1011913880918" + "64")
        #expect(try NodeFormat.lwm2mCBOR.decodeRecords(out, definitions: nil) == records.sorted { $0.path < $1.path })
        #expect(throws: LwM2MCodecError(code: .notAcceptable, reason: "")) {
            try NodeFormat.lwm2mCBOR.encode(records: [.init(path: .resource(3, 0, 9), value: .integer(1), timestamp: 5)])
        }
    }

    @Test func cborSingleValues() throws {
        func enc(_ v: LwM2MValue) -> String {
            var out: [UInt8] = []
            CBORValueCodec.encode(v, into: &out)
            return hex(out)
        }
        #expect(enc(.integer(100)) == "1864")
        #expect(enc(.time(1_367_491_215)) == "1a5182428f")
        #expect(enc(.float(22.5)) == "f94da0")
        #expect(enc(.boolean(true)) == "f5")
        #expect(enc(.string("U")) == "6155")
        #expect(enc(.opaque([1, 2])) == "420102")
        #expect(enc(.objectLink(.init(objectID: 3, instanceID: 0))) == "63333a30")
        #expect(try CBORValueCodec.decode(bytes: bytes(hex: "1864"), as: .integer) == .integer(100))
        #expect(try CBORValueCodec.decode(bytes: bytes(hex: "1864"), as: .float) == .float(100))
        #expect(try CBORValueCodec.decode(bytes: bytes(hex: "1864"), as: .unsignedInteger) == .unsignedInteger(100))
        #expect(try CBORValueCodec.decode(bytes: bytes(hex: "c11a5182428f"), as: .time) == .time(1_367_491_215))
        #expect(try CBORValueCodec.decode(bytes: bytes(hex: "c11a5182428f"), as: nil) == .time(1_367_491_215))
        #expect(try CBORValueCodec.decode(bytes: bytes(hex: "63333a30"), as: .objectLink)
            == .objectLink(.init(objectID: 3, instanceID: 0)))
        #expect(try CBORValueCodec.decode(bytes: bytes(hex: "63333a30"), as: nil) == .string("3:0"))
        for (h, type) in [("6155", LwM2MResourceType.integer), ("f93e00", .integer), ("20", .unsignedInteger),
                          ("420102", .string), ("f6", nil), ("80", nil), ("c26155", nil)] {
            #expect(throws: LwM2MCodecError(code: .typeMismatch, reason: ""), "\(h)") {
                try CBORValueCodec.decode(bytes: bytes(hex: h), as: type)
            }
        }
        #expect(throws: LwM2MCodecError(code: .trailingBytes, reason: "")) {
            try CBORValueCodec.decode(bytes: bytes(hex: "186400"), as: .integer)
        }
    }
}
