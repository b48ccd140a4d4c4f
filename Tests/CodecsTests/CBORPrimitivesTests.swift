@testable import Codecs
import LwM2MModel
import Testing

@Suite("CBOR reader and writer (RFC 8949)")
struct CBORPrimitivesTests {
    /// RFC 8949 Appendix A integers.
    @Test(arguments: [
        (Int64(0), "00"), (1, "01"), (10, "0a"), (23, "17"), (24, "1818"), (25, "1819"), (100, "1864"),
        (1000, "1903e8"), (1_000_000, "1a000f4240"), (1_000_000_000_000, "1b000000e8d4a51000"), (-1, "20"),
        (-10, "29"), (-100, "3863"), (-1000, "3903e7"), (Int64.min, "3b7fffffffffffffff"),
    ])
    func integers(value: Int64, expected: String) throws {
        var out: [UInt8] = []
        out.appendBounded(CBORWriter.maxHeadSize) { CBORWriter.int(value, into: &$0) }
        #expect(hex(out) == expected)
        #expect(try CBORValueCodec.decode(bytes: out) == (value == Int64.min ? .integer(.min) : .integer(value)))
    }

    @Test func largestUnsigned() throws {
        var out: [UInt8] = []
        out.appendBounded(CBORWriter.maxHeadSize) { CBORWriter.uint(UInt64.max, into: &$0) }
        #expect(hex(out) == "1bffffffffffffffff")
        #expect(try CBORValueCodec.decode(bytes: out) == .unsignedInteger(.max))
    }

    /// RFC 8949 Appendix A floats: the writer picks the shortest exact width.
    @Test(arguments: [
        (0.0, "f90000"), (-0.0, "f98000"), (1.0, "f93c00"), (1.1, "fb3ff199999999999a"), (1.5, "f93e00"),
        (65504.0, "f97bff"), (100000.0, "fa47c35000"), (3.4028234663852886e+38, "fa7f7fffff"),
        (1.0e+300, "fb7e37e43c8800759c"), (5.960464477539063e-8, "f90001"), (0.00006103515625, "f90400"),
        (-4.0, "f9c400"), (-4.1, "fbc010666666666666"), (Double.infinity, "f97c00"), (-Double.infinity, "f9fc00"),
    ])
    func floats(value: Double, expected: String) throws {
        var out: [UInt8] = []
        out.appendBounded(CBORWriter.maxHeadSize) { CBORWriter.float(value, into: &$0) }
        #expect(hex(out) == expected)
        let back = try CBORValueCodec.decode(bytes: out)
        #expect(back == .float(value))
        if case .float(let d) = back { #expect(d.sign == value.sign) }
    }

    @Test func nanAndOtherFloatWidths() throws {
        var out: [UInt8] = []
        out.appendBounded(CBORWriter.maxHeadSize) { CBORWriter.float(.nan, into: &$0) }
        #expect(hex(out) == "f97e00")
        guard case .float(let d) = try CBORValueCodec.decode(bytes: out) else { Issue.record("not a float"); return }
        #expect(d.isNaN)
        // Decoders accept any width: 1.5 as single and double; 100000.0 as double.
        #expect(try CBORValueCodec.decode(bytes: bytes(hex: "fa3fc00000")) == .float(1.5))
        #expect(try CBORValueCodec.decode(bytes: bytes(hex: "fb3ff8000000000000")) == .float(1.5))
        #expect(try CBORValueCodec.decode(bytes: bytes(hex: "f97c00")) == .float(.infinity))
        // Half-precision subnormal 2^-24 and the largest one.
        #expect(try CBORValueCodec.decode(bytes: bytes(hex: "f903ff")) == .float(1023 * 0x1p-24))
    }

    /// Every binary16 bit pattern, read by the fast path and the strict reader, against an independent
    /// computation of its value (sign, exponent, fraction per IEEE 754; NaNs only checked to stay NaN).
    @Test func everyHalfPrecisionFloat() throws {
        for bits in 0...UInt16.max {
            let exponent = Int(bits >> 10 & 0x1F)
            let fraction = Double(bits & 0x3FF)
            var expected: Double
            switch exponent {
            case 0: expected = fraction / 1024 * 0x1p-14
            case 31: expected = fraction == 0 ? .infinity : .nan
            default: expected = (1 + fraction / 1024) * Double(sign: .plus, exponent: exponent - 15, significand: 1)
            }
            if bits & 0x8000 != 0 { expected = -expected }
            let wire: [UInt8] = [0xF9, UInt8(bits >> 8), UInt8(bits & 0xFF)]
            try wire.withUnsafeBytes { raw in
                var fast = CBORReader(raw)
                var strict = CBORReader(raw)
                guard case .float(let a) = fast.fastNumber(), case .float(let b) = try strict.next() else {
                    Issue.record("0x\(String(bits, radix: 16)) is not read as a float")
                    return
                }
                if expected.isNaN {
                    #expect(a.isNaN && b.isNaN)
                } else {
                    #expect(a.bitPattern == expected.bitPattern, "0x\(String(bits, radix: 16))")
                    #expect(b.bitPattern == expected.bitPattern, "0x\(String(bits, radix: 16))")
                }
            }
        }
    }

    /// Simple values, strings and containers from RFC 8949 Appendix A.
    @Test func appendixItems() throws {
        func items(_ h: String) throws -> [String] {
            let b = bytes(hex: h)
            return try typed { try b.withUnsafeBytes { (p) -> [String] in
                var r = CBORReader(p)
                var out: [String] = []
                while !r.isAtEnd {
                    let item = try r.next()
                    switch item {
                    case .text(let s): out.append("text(\(s.string(in: p)!))")
                    case .bytes(let s): out.append("bytes(\(hex(s.bytes(in: p))))")
                    default: out.append("\(item)")
                    }
                }
                return out
            } }
        }
        #expect(try items("f4f5f6f7") == ["bool(false)", "bool(true)", "null", "undefined"])
        #expect(try items("f0f8ff") == ["simple(16)", "simple(255)"])
        #expect(try items("606161644945544662c3bc") == ["text()", "text(a)", "text(IETF)", "text(ü)"])
        #expect(try items("404401020304") == ["bytes()", "bytes(01020304)"])
        #expect(try items("5f42010243030405ff") == ["bytes(0102030405)"])
        #expect(try items("7f657374726561646d696e67ff") == ["text(streaming)"])
        #expect(try items("809f") == ["array(Optional(0))", "array(nil)"])
        #expect(try items("83010203") == ["array(Optional(3))", "unsigned(1)", "unsigned(2)", "unsigned(3)"])
        #expect(try items("c11a514b67b0") == ["tag(1)", "unsigned(1363896240)"])
    }

    @Test func skipsNestedIndefiniteItems() throws {
        // [_ 1, [2, 3], [_ 4, 5]] and {_ "a": 1, "b": [_ ]}
        for h in ["9f018202039f0405ffff", "bf61610161629fffff"] {
            let b = bytes(hex: h)
            try b.withUnsafeBytes { (p) in
                var r = CBORReader(p)
                try r.skip()
                try r.finish()
            }
        }
    }

    /// Ill-formed items (RFC 8949 Appendix F) give typed errors with the offset of the culprit.
    @Test(arguments: [
        ("1c", LwM2MCodecError.Code.malformed, 0),  // reserved additional information 28
        ("1d", .malformed, 0), ("1e", .malformed, 0),
        ("ff", .malformed, 0),  // break outside an indefinite item
        ("1f", .malformed, 0),  // indefinite unsigned
        ("18", .truncated, 0), ("1901", .truncated, 0), ("1b00000000", .truncated, 0),
        ("62c3", .truncated, 0),  // string longer than the input
        ("5f4101", .truncated, 3),  // indefinite string without break
        ("5f6161ff", .malformed, 1),  // text chunk in a byte string
        ("5f5f4101ffff", .malformed, 1),  // nested indefinite chunk
        ("f818", .malformed, 0),  // two-byte simple value below 32
        ("9a7fffffff", .truncated, 0),  // huge array count
        ("0000", .trailingBytes, 1),
    ])
    func illFormed(input: String, code: LwM2MCodecError.Code, offset: Int) {
        let b = bytes(hex: input)
        do {
            try typed { try b.withUnsafeBytes { (p) in
                var r = CBORReader(p)
                try r.skip()
                try r.finish()
            } }
            Issue.record("\(input) was accepted")
        } catch {
            #expect(error.code == code, "\(input)")
            #expect(error.offset == offset, "\(input)")
        }
    }

    @Test func depthLimit() {
        let deep = [UInt8](repeating: 0x81, count: 40) + [0x00]
        #expect(throws: LwM2MCodecError(code: .limitExceeded, reason: "")) {
            try deep.withUnsafeBytes { (p) in
                var r = CBORReader(p)
                try r.skip()
            }
        }
    }
}

extension CBORValueCodec {
    static func decode(bytes: [UInt8], as type: LwM2MResourceType? = nil) throws(LwM2MCodecError) -> LwM2MValue {
        try typed { try bytes.withUnsafeBytes { (p) in try decode(p, as: type) } }
    }
}
