@testable import Codecs
import LwM2MModel
import Testing

@Suite("JSON reader and writer")
struct JSONPrimitivesTests {
    private func string(_ json: String) throws(LwM2MCodecError) -> String {
        let b = Array(json.utf8)
        return try typed { try b.withUnsafeBytes { (p) -> String in
            var r = JSONReader(p)
            let s = try r.readString()
            try r.finish()
            return s.string(in: p)!
        } }
    }

    private func number(_ json: String) throws(LwM2MCodecError) -> JSONReader.Number {
        let b = Array(json.utf8)
        return try typed { try b.withUnsafeBytes { (p) -> JSONReader.Number in
            var r = JSONReader(p)
            let n = try r.readNumber()
            try r.finish()
            return n
        } }
    }

    @Test func strings() throws {
        #expect(try string(#""plain""#) == "plain")
        #expect(try string(#""a\"b\\c\/d\b\f\n\r\t""#) == "a\"b\\c/d\u{8}\u{c}\n\r\t")
        #expect(try string(#""\u00fc\u20AC""#) == "ü€")
        #expect(try string(#""\ud83d\ude00 ok""#) == "😀 ok")
        #expect(try string("\"grüße\"") == "grüße")
    }

    @Test(arguments: [
        #""\ud83d""#, #""\ude00""#, #""\ud83d\u0041""#, #""\x""#, #""\u12""#, "\"a\u{1}\"", #""open"#,
    ])
    func badStrings(json: String) {
        #expect(throws: LwM2MCodecError.self) { try string(json) }
    }

    @Test func invalidUTF8IsRejected() {
        let b: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(throws: LwM2MCodecError(code: .malformed, reason: "")) {
            try b.withUnsafeBytes { (p) in
                var r = JSONReader(p)
                _ = try r.readString()
            }
        }
    }

    @Test func numbers() throws {
        guard case .integer(0) = try number("0"), case .integer(-42) = try number("-42"),
            case .integer(Int64.max) = try number("9223372036854775807"),
            case .integer(Int64.min) = try number("-9223372036854775808"),
            case .unsigned(UInt64.max) = try number("18446744073709551615")
        else { Issue.record("integers"); return }
        let floats: [(String, Double)] = [
            ("1.5", 1.5), ("-0.25", -0.25), ("1e3", 1000), ("2.5E-3", 0.0025), ("22.4", 22.4),
            ("0.30000000000000004", 0.30000000000000004), ("1.7976931348623157e308", .greatestFiniteMagnitude),
            ("123456789012345678901234567890", 123456789012345678901234567890.0), ("5e-324", .leastNonzeroMagnitude),
        ]
        for (text, value) in floats {
            guard case .float(let d) = try number(text) else { Issue.record("\(text)"); continue }
            #expect(d == value, "\(text)")
        }
    }

    @Test(arguments: ["01", "-", "1.", ".5", "1e", "+1", "1e+", "--1", "1x", "1e400"])
    func badNumbers(json: String) {
        #expect(throws: LwM2MCodecError.self) { try number(json) }
    }

    @Test func writerEscapesAndNumbers() {
        var out: [UInt8] = []
        out.appendBounded(JSONWriter.maxStringLength(9)) { JSONWriter.string("a\"b\\c\n\u{1}ü", into: &$0) }
        #expect(out.text == #""a\"b\\c\n\u0001ü""#)
        out = []
        out.appendBounded(3 * JSONWriter.maxNumberLength + 2) { c in
            _ = JSONWriter.double(25.5, into: &c)
            c.append(0x20)
            _ = JSONWriter.double(100, into: &c)
            c.append(0x20)
            _ = JSONWriter.double(-0.0, into: &c)
            c.append(0x20)
            JSONWriter.int(-9_223_372_036_854_775_808, into: &c)
        }
        #expect(out.text == "25.5 100.0 -0.0 -9223372036854775808")
        var written = true
        out.appendBounded(JSONWriter.maxNumberLength) { written = JSONWriter.double(.nan, into: &$0) }
        #expect(!written)
        #expect(out.text == "25.5 100.0 -0.0 -9223372036854775808")
    }

    @Test func skipAndLimits() throws {
        let ok = Array(#" {"a":[1,2,{"b":null,"c":true}],"d":"x"} "#.utf8)
        try ok.withUnsafeBytes { (p) in
            var r = JSONReader(p)
            try r.skipValue()
            try r.finish()
        }
        let deep = Array((String(repeating: "[", count: 40) + String(repeating: "]", count: 40)).utf8)
        #expect(throws: LwM2MCodecError(code: .limitExceeded, reason: "")) {
            try deep.withUnsafeBytes { (p) in
                var r = JSONReader(p)
                try r.skipValue()
            }
        }
        let trailing = Array("[] x".utf8)
        #expect(throws: LwM2MCodecError(code: .trailingBytes, reason: "")) {
            try trailing.withUnsafeBytes { (p) in
                var r = JSONReader(p)
                try r.skipValue()
                try r.finish()
            }
        }
    }

    @Test func base64() {
        var out: [UInt8] = []
        JSONBase64.encode([0xFB, 0xFF, 0x01], urlSafe: true, padding: false, into: &out)
        #expect(out.text == "-_8B")
        out = []
        JSONBase64.encode(Array("hello".utf8), urlSafe: false, padding: true, into: &out)
        #expect(out.text == "aGVsbG8=")
        for text in ["aGVsbG8=", "aGVsbG8"] {
            let b = Array(text.utf8)
            #expect(b.withUnsafeBytes { JSONBase64.decode(.span(0, $0.count), in: $0) } == Array("hello".utf8))
        }
        for bad in ["aGVsbG9", "a", "aG=sbG8=", "aGVsbG*="] {
            let b = Array(bad.utf8)
            #expect(b.withUnsafeBytes { JSONBase64.decode(.span(0, $0.count), in: $0) } == nil, "\(bad)")
        }
    }
}
