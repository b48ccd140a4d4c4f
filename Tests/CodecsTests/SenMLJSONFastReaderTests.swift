import Testing
@testable import Codecs
import LwM2MModel

/// The fast SenML JSON reader must answer exactly what the strict reader answers: the same node, records or error
/// (code, offset, path) for every input, valid or not.
@Suite struct SenMLJSONFastReaderTests {
    /// The strict reader's answer, without the fast path.
    static func strictNode(_ bytes: [UInt8], at path: LwM2MPath) -> Result<LwM2MNode, LwM2MCodecError> {
        bytes.withUnsafeBytes { raw in
            Result { () throws(LwM2MCodecError) in
                var storage = LwM2MNodeStorage()
                return try SenMLPackReader.decodeNode(
                    SenMLJSONCodec.Syntax(raw), at: path, definitions: DeviceFixture.registry, reusing: &storage)
            }
        }
    }

    static func strictRecords(_ bytes: [UInt8]) -> Result<[LwM2MRecord], LwM2MCodecError> {
        bytes.withUnsafeBytes { raw in
            Result { () throws(LwM2MCodecError) in
                try SenMLPackReader.decodeRecords(SenMLJSONCodec.Syntax(raw), definitions: DeviceFixture.registry)
            }
        }
    }

    static func fastNode(_ bytes: [UInt8], at path: LwM2MPath) -> Result<LwM2MNode, LwM2MCodecError> {
        bytes.withUnsafeBytes { raw in
            Result { () throws(LwM2MCodecError) in
                try SenMLJSONCodec.decode(raw, at: path, definitions: DeviceFixture.registry)
            }
        }
    }

    static func fastRecords(_ bytes: [UInt8]) -> Result<[LwM2MRecord], LwM2MCodecError> {
        bytes.withUnsafeBytes { raw in
            Result { () throws(LwM2MCodecError) in
                try SenMLJSONCodec.decodeRecords(raw, definitions: DeviceFixture.registry)
            }
        }
    }

    static func same<T: Equatable>(_ a: Result<T, LwM2MCodecError>, _ b: Result<T, LwM2MCodecError>) -> Bool {
        switch (a, b) {
        case (.success(let x), .success(let y)): return x == y
        case (.failure(let x), .failure(let y)): return x.code == y.code && x.offset == y.offset && x.path == y.path
        default: return false
        }
    }

    static func check(_ text: [UInt8], at path: LwM2MPath = .instance(3, 0)) {
        let n1 = fastNode(text, at: path)
        let n2 = strictNode(text, at: path)
        #expect(same(n1, n2), "\(String(decoding: text, as: UTF8.self)): \(n1) vs \(n2)")
        let r1 = fastRecords(text)
        let r2 = strictRecords(text)
        #expect(same(r1, r2), "\(String(decoding: text, as: UTF8.self)): \(r1) vs \(r2)")
    }

    /// Packs inside and just outside the fast subset.
    @Test func handWrittenPacks() {
        let packs = [
            #"[]"#, #" [ ] "#, #"[{}]"#,
            #"[{"bn":"/3/0/","n":"9","v":100},{"n":"13","v":1367491215}]"#,
            #"[ {"bn" : "/3/0/" , "n":"9" , "v" : 100 } ]"#,
            #"[{"bn":"/3/0/","bt":25,"n":"9","v":1,"t":-5},{"n":"10","v":2.5e1}]"#,
            #"[{"bn":"/3/0/","n":"6/0","v":1},{"n":"6/1","v":5}]"#,
            #"[{"bn":"/3/0/","n":"6/1","v":1},{"n":"6/0","v":5}]"#,
            #"[{"bn":"/3/0/","n":"9","v":-0.0}]"#,
            #"[{"bn":"/3/0/","n":"9","v":-0}]"#,
            #"[{"bn":"/3/0/","n":"9","v":123456789012345678901234}]"#,
            #"[{"bn":"/3/0/","n":"9","v":18446744073709551615}]"#,
            #"[{"bn":"/3/0/","n":"9","v":9223372036854775807}]"#,
            #"[{"bn":"/3/0/","n":"9","v":-9223372036854775808}]"#,
            #"[{"bn":"/3/0/","n":"9","v":99999999999999999}]"#,
            #"[{"bn":"/3/0/","n":"9","v":999999999999999999}]"#,
            #"[{"bn":"/3/0/","n":"9","v":1.5}]"#,
            #"[{"bn":"/3/0/","n":"9","v":01}]"#,
            #"[{"bn":"/3/0/","n":"9","v":-}]"#,
            #"[{"bn":"/3/0/","n":"9","v":1e400}]"#,
            #"[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"}]"#,
            #"[{"bn":"/3/0/","n":"0","vs":"caf\u00e9"}]"#,
            "[{\"bn\":\"/3/0/\",\"n\":\"0\",\"vs\":\"caf\u{E9}\"}]",
            #"[{"bn":"/3/0/","n":"0","vs":"tab\there"}]"#,
            #"[{"bn":"/3/0/","n":"0","vb":true}]"#,
            #"[{"bn":"/3/0/","n":"0","vb":truex}]"#,
            #"[{"bn":"/3/0/","n":"0","vb":1}]"#,
            #"[{"bn":"/3/0/","n":"0","vd":"AQID"}]"#,
            #"[{"bn":"/3/0/","n":"0","vd":"AQI"}]"#,
            #"[{"bn":"/3/0/","n":"0","vd":"A"}]"#,
            #"[{"bn":"/3/0/","n":"0","vlo":"3:0"}]"#,
            #"[{"bn":"/3/0/","n":"0","vlo":"+3:0"}]"#,
            #"[{"bn":"/3/0/","n":"0","vlo":"65535:65535"}]"#,
            #"[{"bn":"/3/0/","n":"0","vlo":"65536:0"}]"#,
            #"[{"bn":"/3/0/","n":"0","vlo":"003:0"}]"#,
            #"[{"bn":"/3/0/","n":"0","vlo":"3:"}]"#,
            #"[{"bn":"/3/0/","n":"0","v":1,"v":2}]"#,
            #"[{"bn":"/3/0/","n":"0","v":1,"vs":"x"}]"#,
            #"[{"bn":"/3/0/","bn":"/3/0/","n":"0","v":1}]"#,
            #"[{"bn":"/3/0/","n":"0","v":1,"u":"m"}]"#,
            #"[{"bn":"/3/0/","n":"0","v":1,"x_":1}]"#,
            #"[{"bn":"/3/0/","n":"0","bv":1,"v":1}]"#,
            #"[{"bver":10,"bn":"/3/0/","n":"0","v":1}]"#,
            #"[{"b\u006e":"/3/0/","n":"0","v":1}]"#,
            #"[{"":"/3/0/","n":"0","v":1}]"#,
            #"[{"bn":"/3/0/","n":"00","v":1}]"#,
            #"[{"bn":"/3/0/","n":"/9","v":1}]"#,
            #"[{"bn":"/3/0","n":"/9","v":1}]"#,
            #"[{"bn":"","n":"/3/0/9","v":1}]"#,
            #"[{"n":"/3/0/9","v":1}]"#,
            #"[{"n":"9","v":1}]"#,
            #"[{"bn":"/3/0/9","v":1}]"#,
            #"[{"bn":"/3/0/65535","v":1}]"#,
            #"[{"bn":"/3/0/","n":"9"}]"#,
            #"[{"bn":"/3/0/","n":"9","v":1},{"n":"9","v":2}]"#,
            #"[{"bn":"/3/1/","n":"9","v":1}]"#,
            #"[{"bn":"/3/0/","n":"9","v":"1"}]"#,
            #"[{"bn":"/3/0/","n":"9","v":1}]]"#,
            #"[{"bn":"/3/0/","n":"9","v":1}] x"#,
            #"[{"bn":"/3/0/","n":"9","v":1},]"#,
            #"[{"bn":"/3/0/","n":"9","v":1,}]"#,
            #"[{"bn":"/3/0/","n":"9","v":1}"#,
            #"[{"bn":"/3/0/","n":"9","v":1"#,
            #"[{"bn":"/3/0/","n":"9","v"#,
        ]
        for p in packs { Self.check(Array(p.utf8)) }
        Self.check([0x5B, 0x5D, 0x00])
        Self.check([])
    }

    /// Strings of every length with characters that need escaping at random places (the writer skips plain
    /// bytes eight at a time) come back as they were.
    @Test func stringsWithEscapesRoundTrip() throws {
        var rng = SeededGenerator(seed: 99)
        let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "\n", "\u{1}", "\u{1F}", "/", "é", "😀", "\u{7F}"]
        for length in 0..<40 {
            for _ in 0..<10 {
                let text = String((0..<length).map { _ in
                    Int.random(in: 0..<4, using: &rng) == 0 ? alphabet.randomElement(using: &rng)! : "x"
                })
                let node = LwM2MNode.resource(.single(0, .string(text)))
                var out: [UInt8] = []
                try SenMLJSONCodec.encode(node, at: .resource(3, 0, 0), into: &out)
                let back = try out.withUnsafeBytes { raw in
                    try SenMLJSONCodec.decode(raw, at: .resource(3, 0, 0), definitions: DeviceFixture.registry)
                }
                #expect(back == node, "\(text)")
                Self.check(out, at: .resource(3, 0, 0))
            }
        }
    }

    /// Random byte edits of the Device instance and of a time series with every value kind.
    @Test func mutatedPacks() throws {
        var rng = SeededGenerator(seed: 4242)
        var device: [UInt8] = []
        try SenMLJSONCodec.encode(.objectInstance(DeviceFixture.instance), at: .instance(3, 0), into: &device)
        let records = [
            LwM2MRecord(path: .resource(3, 0, 0), value: .opaque([1, 2, 3, 4]), timestamp: 10),
            LwM2MRecord(path: .resource(3, 0, 1), value: .objectLink(LwM2MObjectLink(objectID: 3, instanceID: 0))),
            LwM2MRecord(path: .resource(3, 0, 2), value: .boolean(false), timestamp: 12.5),
            LwM2MRecord(path: .resource(3, 0, 9), value: .float(-2.5e-3)),
            LwM2MRecord(path: .instance(3, 0), value: nil),
        ]
        var series: [UInt8] = []
        try SenMLJSONCodec.encode(records: records, into: &series)
        for valid in [device, series] {
            Self.check(valid)
            for _ in 0..<1500 {
                var bytes = valid
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    guard !bytes.isEmpty else { break }
                    let at = Int.random(in: 0..<bytes.count, using: &rng)
                    switch Int.random(in: 0..<5, using: &rng) {
                    case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
                    case 1: bytes[at] = Array(#"{}[],:"\ 0123456789.e-+/abnstvdlo"#.utf8).randomElement(using: &rng)!
                    case 2: bytes.removeSubrange(at...)
                    case 3: bytes.insert(Array(#"{}[],:"\ 019.e-/"#.utf8).randomElement(using: &rng)!, at: at)
                    default: bytes.remove(at: at)
                    }
                }
                Self.check(bytes)
            }
        }
    }
}
