import Codecs
import LwM2MModel
import Testing

@Suite("text/plain and opaque codecs")
struct TextCodecTests {
    func encode(_ v: LwM2MValue) throws -> String {
        var out: [UInt8] = []
        try LwM2MTextCodec.encode(v, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func decode(_ s: String, _ type: LwM2MResourceType?) throws -> LwM2MValue {
        try LwM2MTextCodec.decode(utf8(s), as: type)
    }

    @Test(arguments: [
        (LwM2MValue.integer(0), "0"), (.integer(-12), "-12"), (.integer(.max), "9223372036854775807"),
        (.integer(.min), "-9223372036854775808"), (.unsignedInteger(.max), "18446744073709551615"),
        (.time(1_367_491_215), "1367491215"), (.boolean(true), "1"), (.boolean(false), "0"),
        (.float(1.5), "1.5"), (.float(100), "100.0"), (.float(0.1), "0.1"), (.float(-2.5e-7), "-2.5e-07"),
        (.string("Open Mobile Alliance"), "Open Mobile Alliance"), (.string(""), ""), (.string("ü€😀"), "ü€😀"),
        (.objectLink(.init(objectID: 3, instanceID: 0)), "3:0"), (.objectLink(.null), "65535:65535"),
        (.coreLink("</3/0>,</1/0>"), "</3/0>,</1/0>"), (.opaque([]), ""), (.opaque([0x4D]), "TQ=="),
        (.opaque([0x4D, 0x61]), "TWE="), (.opaque([0x4D, 0x61, 0x6E]), "TWFu"), (.opaque([0xFF, 0xFE, 0xFD, 0x00]), "//79AA=="),
    ])
    func encodesAndDecodesEveryType(value: LwM2MValue, text: String) throws {
        #expect(try encode(value) == text)
        #expect(try decode(text, value.type) == value)
    }

    /// `encode(_:into:)` of caller-provided storage writes the same bytes as the array form, from the start of the
    /// storage, and nothing past them.
    @Test(arguments: [
        LwM2MValue.integer(0), .integer(100), .integer(-12), .integer(.max), .integer(.min), .unsignedInteger(.max),
        .time(1_367_491_215), .boolean(true), .boolean(false), .float(1.5), .float(-2.5e-7), .string("Open Mobile"),
        .string(""), .string("ü€😀"), .objectLink(.init(objectID: 3, instanceID: 0)), .objectLink(.null),
        .coreLink("</3/0>"), .opaque([]), .opaque([0x4D]), .opaque([0xFF, 0xFE, 0xFD, 0x00]),
    ])
    func encodesIntoCallerStorage(value: LwM2MValue) throws {
        var array: [UInt8] = []
        try LwM2MTextCodec.encode(value, into: &array)
        var storage = [UInt8](repeating: 0xEE, count: 40)
        let n = try storage.withUnsafeMutableBytes { raw in try LwM2MTextCodec.encode(value, into: raw) }
        #expect(n == array.count)
        #expect(Array(storage[..<n]) == array)
        #expect(storage[n...].allSatisfy { $0 == 0xEE })
        // Exactly the bytes it needs is enough.
        var exact = [UInt8](repeating: 0xEE, count: n)
        let m = try exact.withUnsafeMutableBytes { raw in try LwM2MTextCodec.encode(value, into: raw) }
        #expect(m == n && exact == array)
    }

    @Test func storageTooSmallIsAnErrorAndWritesNothing() throws {
        for (value, needed) in [
            (LwM2MValue.integer(-100), 4), (.unsignedInteger(12345), 5), (.boolean(true), 1),
            (.string("abcdef"), 6), (.float(0.5), 3), (.opaque([1, 2, 3, 4]), 8), (.objectLink(.null), 11),
        ] {
            var storage = [UInt8](repeating: 0xEE, count: needed - 1)
            let error = codecError {
                try storage.withUnsafeMutableBytes { raw in try LwM2MTextCodec.encode(value, into: raw) }
            }
            #expect(error?.code == .limitExceeded, "\(value)")
            #expect(storage.allSatisfy { $0 == 0xEE }, "\(value)")
        }
        var none: [UInt8] = []
        #expect(codecError { try none.withUnsafeMutableBytes { try LwM2MTextCodec.encode(.integer(1), into: $0) } }?.code
            == .limitExceeded)
        var storage = [UInt8](repeating: 0, count: 32)
        #expect(codecError { try storage.withUnsafeMutableBytes { try LwM2MTextCodec.encode(.float(.nan), into: $0) } }?
            .code == .typeMismatch)
    }

    @Test func floatsUseTheShortestTextThatRoundTrips() throws {
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<2000 {
            var d: Double
            repeat { d = Double(bitPattern: rng.next()) } while !d.isFinite
            let text = try encode(.float(d))
            #expect(try decode(text, .float) == .float(d), "\(text)")
            #expect(text == d.description)
        }
        #expect(try decode("1e3", .float) == .float(1000))
        #expect(try decode("-.5", .float) == .float(-0.5))
        var out: [UInt8] = []
        #expect(codecError { try LwM2MTextCodec.encode(.float(.nan), into: &out) }?.code == .typeMismatch)
        #expect(codecError { try LwM2MTextCodec.encode(.float(.infinity), into: &out) }?.code == .typeMismatch)
    }

    @Test func unknownResourcesDecodeAsText() throws {
        #expect(try decode("42", nil) == .string("42"))
    }

    @Test(arguments: [
        ("", LwM2MResourceType.integer, LwM2MCodecError.Code.typeMismatch, 0), ("12a", .integer, .typeMismatch, 2),
        ("-", .integer, .typeMismatch, 1), ("9223372036854775808", .integer, .typeMismatch, 0),
        ("-9223372036854775809", .integer, .typeMismatch, 0), ("-1", .unsignedInteger, .typeMismatch, 0),
        ("18446744073709551616", .unsignedInteger, .typeMismatch, 19), (" 1", .integer, .typeMismatch, 0),
        ("2", .boolean, .typeMismatch, 0), ("true", .boolean, .typeMismatch, 0), ("", .boolean, .typeMismatch, 0),
        (".", .float, .typeMismatch, 1), ("abc", .float, .typeMismatch, 0), ("inf", .float, .typeMismatch, 0),
        ("nan", .float, .typeMismatch, 0), ("0x1p3", .float, .typeMismatch, 1), ("1e", .float, .typeMismatch, 2),
        ("1e999", .float, .typeMismatch, 0), ("3", .objectLink, .typeMismatch, 0), ("3:x", .objectLink, .typeMismatch, 2),
        ("70000:0", .objectLink, .typeMismatch, 0), ("TQ=", .opaque, .malformed, 2), ("T!==", .opaque, .malformed, 1),
        ("TR==", .opaque, .malformed, 1), ("1.5", .time, .typeMismatch, 1),
    ])
    func rejectsBadText(text: String, type: LwM2MResourceType, code: LwM2MCodecError.Code, offset: Int) {
        let error = codecError { try decode(text, type) }
        #expect(error?.code == code)
        #expect(error?.offset == offset)
    }

    /// The inline integer path (up to 18/19 bytes) and the checked parser must agree on every length and sign,
    /// including the lengths where one hands over to the other.
    @Test func integersOfEveryLengthAndSign() throws {
        var rng = SeededGenerator(seed: 5)
        for digits in 1...20 {
            for _ in 0..<50 {
                var text = String(Int.random(in: 1...9, using: &rng))
                for _ in 1..<digits { text += String(Int.random(in: 0...9, using: &rng)) }
                let magnitude = UInt64(text)
                for sign in ["", "-", "+"] {
                    let expected = Int64(sign == "+" ? text : sign + text)
                    let decoded = Result { () throws(LwM2MCodecError) in
                        try LwM2MTextCodec.decode(utf8(sign + text), as: .integer)
                    }
                    if let expected {
                        #expect(try decoded.get() == .integer(expected), "\(sign)\(text)")
                        #expect(try decode(sign + text, .time) == .time(expected))
                        if sign != "+" { #expect(try encode(.integer(expected)) == sign + text) }
                    } else {
                        #expect(codecError { try decoded.get() }?.code == .typeMismatch, "\(sign)\(text)")
                    }
                }
                if let magnitude {
                    #expect(try decode(text, .unsignedInteger) == .unsignedInteger(magnitude))
                    #expect(try encode(.unsignedInteger(magnitude)) == text)
                } else {
                    #expect(codecError { try decode(text, .unsignedInteger) }?.offset == 19)
                }
            }
        }
        #expect(try decode("-0", .integer) == .integer(0))
        #expect(try decode("007", .integer) == .integer(7))
        #expect(try decode("00000000000000000000000000042", .unsignedInteger) == .unsignedInteger(42))
        for (text, offset) in [("+", 1), ("-", 1), ("--1", 1), ("+-1", 1), ("1-", 1), ("12 ", 2), ("\u{0}", 0)] {
            #expect(codecError { try decode(text, .integer) }?.offset == offset, "\(text)")
        }
        #expect(codecError { try decode("+1", .unsignedInteger) }?.offset == 0)
        // Appending keeps what the buffer held.
        var out: [UInt8] = Array("x=".utf8)
        try LwM2MTextCodec.encode(.integer(-100), into: &out)
        try LwM2MTextCodec.encode(.unsignedInteger(9), into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "x=-1009")
    }

    /// The example of docs/Codecs-speed.md, kept compiling and true.
    @Test func documentationExample() throws {
        let registry = LwM2MRegistry([
            LwM2MObjectDefinition(id: 3, name: "Device", isMultiple: false, isMandatory: true, resources: [
                .init(id: 9, name: "Battery Level", operations: .read, isMultiple: false, isMandatory: false,
                      type: .integer),
            ]),
        ])
        let codec = LwM2MCodec(definitions: registry)
        var out: [UInt8] = []
        try codec.encode(.resource(.single(9, .integer(100))), at: .resource(3, 0, 9), as: .textPlain, into: &out)
        #expect(out == utf8("100"))
        let node = try codec.decode(out, at: .resource(3, 0, 9), as: .textPlain)
        #expect(node == .resource(.single(9, .integer(100))))
        #expect(try LwM2MTextCodec.decode(Array("-42".utf8), as: .integer) == .integer(-42))
    }

    /// The facade's text path: node/path agreement, multiplicity from the registry, output untouched on error.
    @Test func facadeChecksNodePathAndMultiplicity() throws {
        let codec = LwM2MCodec(definitions: LwM2MRegistry([
            LwM2MObjectDefinition(id: 3, name: "Device", isMultiple: false, isMandatory: true, resources: [
                .init(id: 7, name: "Voltage", operations: .read, isMultiple: true, isMandatory: false, type: .integer),
                .init(id: 9, name: "Battery", operations: .read, isMultiple: false, isMandatory: false, type: .integer),
            ]),
        ]))
        let battery = LwM2MNode.resource(.single(9, .integer(-7)))
        let voltage = LwM2MResourceInstance(id: 1, value: .integer(3800))
        let instance = LwM2MNode.resourceInstance(voltage)
        var out: [UInt8] = [0xAA]
        try codec.encode(battery, at: .resource(3, 0, 9), as: .textPlain, into: &out)
        try codec.encode(instance, at: .resourceInstance(3, 0, 7, 1), as: .textPlain, into: &out)
        #expect(out == [0xAA] + utf8("-73800"))
        let wrong: [(LwM2MNode, LwM2MPath, LwM2MCodecError.Code)] = [
            (battery, .resource(3, 0, 8), .invalidPath), (battery, .resourceInstance(3, 0, 9, 0), .invalidPath),
            (instance, .resource(3, 0, 7), .invalidPath), (instance, .resourceInstance(3, 0, 7, 2), .invalidPath),
            (.resource(.multiple(7, [voltage])), .resource(3, 0, 7), .notAcceptable),
            (.objectInstance(LwM2MObjectInstance(id: 0, resources: [])), .instance(3, 0), .notAcceptable),
        ]
        for (node, path, code) in wrong {
            #expect(codecError { try codec.encode(node, at: path, as: .textPlain, into: &out) }?.code == code)
        }
        #expect(out == [0xAA] + utf8("-73800"))
        #expect(try codec.decode(utf8("3800"), at: .resourceInstance(3, 0, 7, 1), as: .textPlain) == instance)
        #expect(try codec.decode(utf8("-7"), at: .resource(3, 0, 9), as: .textPlain) == battery)
        #expect(codecError { try codec.decode(utf8("1"), at: .resource(3, 0, 7), as: .textPlain) }?.code
            == .notAcceptable)
        #expect(codecError { try codec.decode(utf8("1"), at: .resourceInstance(3, 0, 9, 0), as: .textPlain) }?.code
            == .typeMismatch)
        #expect(codecError { try codec.decode(utf8("1x"), at: .resource(3, 0, 9), as: .textPlain) }?.offset == 1)
        // Unknown resources keep the text (and `.reject` refuses them).
        #expect(try codec.decode(utf8("12"), at: .resource(3, 0, 10), as: .textPlain)
            == .resource(.single(10, .string("12"))))
        let strict = LwM2MCodec(definitions: nil, unknownResources: .reject)
        #expect(codecError { try strict.decode(utf8("12"), at: .resource(3, 0, 9), as: .textPlain) }?.code
            == .unknownDefinition)
    }

    @Test func rejectsInvalidUTF8WithItsOffset() {
        let error = codecError { try LwM2MTextCodec.decode([0x61, 0x62, 0xC3, 0x28], as: .string) }
        #expect(error?.code == .malformed)
        #expect(error?.offset == 2)
    }

    @Test func utf8CheckAgreesWithTheStandardLibrary() throws {
        var rng = SeededGenerator(seed: 3)
        let interesting: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4,
                                    0xF5, 0xFF, 0x9F, 0xA0, 0x8F, 0x90]
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...12, using: &rng)).map { _ in
                interesting[Int.random(in: 0..<interesting.count, using: &rng)]
            }
            let expected = String(validating: bytes, as: UTF8.self)
            let decoded = Result { () throws(LwM2MCodecError) in try LwM2MTextCodec.decode(bytes, as: .string) }
            switch decoded {
            case .success(let value): #expect(value == .string(expected ?? "<invalid>"), "\(bytes)")
            case .failure: #expect(expected == nil, "\(bytes)")
            }
        }
    }

    @Test func randomValuesRoundTrip() throws {
        var gen = RandomNodes(seed: 11)
        for _ in 0..<3000 {
            let (type, value) = gen.singleValue()
            var out: [UInt8] = []
            try LwM2MTextCodec.encode(value, into: &out)
            #expect(try LwM2MTextCodec.decode(out, as: type) == value)
        }
    }

    @Test func opaqueCarriesOnlyOpaque() throws {
        var out: [UInt8] = []
        try LwM2MOpaqueCodec.encode(.opaque([1, 2, 3]), into: &out)
        #expect(out == [1, 2, 3])
        #expect(codecError { try LwM2MOpaqueCodec.encode(.string("x"), into: &out) }?.code == .notAcceptable)
        #expect(try [UInt8]([9, 8]).withUnsafeBytes { try LwM2MOpaqueCodec.decode($0, as: .opaque) } == .opaque([9, 8]))
        #expect(try [UInt8]([9, 8]).withUnsafeBytes { try LwM2MOpaqueCodec.decode($0, as: nil) } == .opaque([9, 8]))
        #expect(codecError { try [UInt8]([9]).withUnsafeBytes { try LwM2MOpaqueCodec.decode($0, as: .integer) } }?.code
            == .typeMismatch)
    }
}
