import Codecs
import LwM2MModel
import Testing

/// The SenML JSON node encoder (one pass, values read in place, resources written while they fit the reservation)
/// must write exactly what the record encoder writes, whatever the values, the output's spare capacity and what the
/// output already holds; and leave the output as it was when it throws.
@Suite("SenML JSON node encoder")
struct SenMLJSONNodeWriterTests {
    @Test(arguments: [21, 22, 23] as [UInt64])
    func nodeEncoderWritesWhatTheRecordEncoderWrites(seed: UInt64) throws {
        var gen = RandomNodes(seed: seed)
        for k in 0..<300 {
            let s = gen.sample()
            // Appends after what is there; with no spare capacity, a little, or plenty.
            var fromNode: [UInt8] = [0xAB]
            if k % 3 == 1 { fromNode.reserveCapacity(40) }
            if k % 3 == 2 { fromNode.reserveCapacity(8192) }
            try SenMLJSONCodec.encode(s.node, at: s.path, into: &fromNode)
            var fromRecords: [UInt8] = [0xAB]
            try SenMLJSONCodec.encode(records: s.node.records(at: s.path), into: &fromRecords)
            #expect(fromNode == fromRecords, "\(s.path)")
        }
    }

    @Test func stringsAreEscapedWhereverTheEscapeFalls() throws {
        // Escapes in the first word, the middle, the tail, and strings of 7, 8, 9 and 17 bytes.
        let texts = [
            "\"", "a\\b", "1234567\n", "12345678\t9", "abcdefg", "abcdefgh", "abcdefghi", "abcdefghijklmnopq",
            "\u{1}\u{1F}x\r\u{8}\u{C}", "ü€😀\"ü", "0123456789abcdef\\",
        ]
        let escaped = [
            #"\""#, #"a\\b"#, #"1234567\n"#, #"12345678\t9"#, "abcdefg", "abcdefgh", "abcdefghi", "abcdefghijklmnopq",
            #"\u0001\u001fx\r\b\f"#, #"ü€😀\"ü"#, #"0123456789abcdef\\"#,
        ]
        for (text, json) in zip(texts, escaped) {
            let node = LwM2MNode.objectInstance(LwM2MObjectInstance(id: 0, resources: [
                .single(0, .string(text)), .multiple(1, [0: .coreLink(text), 1: .integer(-7)]),
            ]))
            var out: [UInt8] = []
            try SenMLJSONCodec.encode(node, at: .instance(3, 0), into: &out)
            let expected = #"[{"bn":"/3/0/","n":"0","vs":""# + json + #""},{"n":"1/0","vs":""# + json
                + #""},{"n":"1/1","v":-7}]"#
            #expect(String(decoding: out, as: UTF8.self) == expected)
            let back = try out.withUnsafeBytes { raw in
                try SenMLJSONCodec.decode(raw, at: .instance(3, 0), definitions: nil)
            }
            // Untyped, `vs` reads back as a string.
            #expect(back == .objectInstance(LwM2MObjectInstance(id: 0, resources: [
                .single(0, .string(text)), .multiple(1, [0: .string(text), 1: .integer(-7)]),
            ])))
        }
    }

    @Test func floatsAndOpaqueValuesAmongOthersKeepTheirOrder() throws {
        // Values written out of line (floats, opaque) in a single resource and in the middle of a multiple one.
        let node = LwM2MNode.objectInstance(LwM2MObjectInstance(id: 1, resources: [
            .single(0, .float(1.5)),
            .multiple(1, [0: .integer(1), 1: .float(-0.25), 2: .opaque([0xFB, 0xFF]), 3: .boolean(true)]),
            .single(2, .opaque([])),
            .single(3, .objectLink(LwM2MObjectLink(objectID: 3, instanceID: 0))),
            .single(4, .unsignedInteger(.max)),
        ]))
        var out: [UInt8] = [0x20]
        try SenMLJSONCodec.encode(node, at: .instance(5, 1), into: &out)
        #expect(String(decoding: out, as: UTF8.self) == " " + #"[{"bn":"/5/1/","n":"0","v":1.5},{"n":"1/0","v":1},"#
            + #"{"n":"1/1","v":-0.25},{"n":"1/2","vd":"-_8"},{"n":"1/3","vb":true},{"n":"2","vd":""},"#
            + #"{"n":"3","vlo":"3:0"},{"n":"4","v":18446744073709551615}]"#)
    }

    @Test func aLargeNodeGrowsTheOutputAndAFailureLeavesItAsItWas() throws {
        // More than the first reservation (about 64 bytes per resource): long strings, many instances.
        let long = String(repeating: "x", count: 1000)
        var resources: [LwM2MResource] = (0..<20).map { .single(UInt16($0), .string(long)) }
        resources.append(.multiple(20, Dictionary(uniqueKeysWithValues: (0..<50).map { (UInt16($0), LwM2MValue.integer(Int64($0))) })))
        let node = LwM2MNode.objectInstance(LwM2MObjectInstance(id: 0, resources: resources))
        var fromNode: [UInt8] = Array("prefix".utf8)
        try SenMLJSONCodec.encode(node, at: .instance(3, 0), into: &fromNode)
        var fromRecords: [UInt8] = Array("prefix".utf8)
        try SenMLJSONCodec.encode(records: node.records(at: .instance(3, 0)), into: &fromRecords)
        #expect(fromNode == fromRecords)
        #expect(fromNode.count > 20_000)

        // A NaN after several reservations' worth of records: the error, and the output untouched.
        var bad = resources
        bad.append(.single(21, .float(.nan)))
        var out: [UInt8] = Array("prefix".utf8)
        let error = codecError {
            try SenMLJSONCodec.encode(
                .objectInstance(LwM2MObjectInstance(id: 0, resources: bad)), at: .instance(3, 0), into: &out)
        }
        #expect(error?.code == .notAcceptable)
        #expect(error?.path == .resource(3, 0, 21))
        #expect(out == Array("prefix".utf8))
    }

    @Test func everyNodeLevel() throws {
        let object = LwM2MNode.object(LwM2MObject(id: 3, instances: [
            LwM2MObjectInstance(id: 0, resources: [.single(9, .integer(100))]),
            LwM2MObjectInstance(id: 2, resources: [.multiple(6, [0: .integer(1)]), .single(14, .string("+02"))]),
        ]))
        let cases: [(LwM2MNode, LwM2MPath, String)] = [
            (object, .object(3),
             #"[{"bn":"/3/0/","n":"9","v":100},{"bn":"/3/2/","n":"6/0","v":1},{"n":"14","vs":"+02"}]"#),
            (.resource(.multiple(6, [0: .integer(1), 3: .float(2.5)])), .resource(3, 0, 6),
             #"[{"bn":"/3/0/","n":"6/0","v":1},{"n":"6/3","v":2.5}]"#),
            (.resource(.single(9, .integer(100))), .resource(3, 0, 9), #"[{"bn":"/3/0/","n":"9","v":100}]"#),
            (.resourceInstance(LwM2MResourceInstance(id: 1, value: .string("a"))), .resourceInstance(3, 0, 6, 1),
             #"[{"bn":"/3/0/","n":"6/1","vs":"a"}]"#),
            (.objectInstance(LwM2MObjectInstance(id: 0, resources: [])), .instance(3, 0), "[]"),
        ]
        for (node, path, json) in cases {
            var out: [UInt8] = []
            try SenMLJSONCodec.encode(node, at: path, into: &out)
            #expect(String(decoding: out, as: UTF8.self) == json, "\(path)")
        }
    }
}
