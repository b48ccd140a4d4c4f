#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import Codecs
import LwM2MModel
import Testing

/// The text/plain integer readers - the inline path of `LwM2MTextCodec.decode(_:as:)` for short text and the
/// checked parser, which reads eight digits at a time - against a plain digit-by-digit model of the rules, on every
/// length, sign, leading zeros, a non-digit at every position, the `Int64`/`UInt64` boundaries, and text placed
/// against unreadable memory on both sides (a read outside the buffer crashes the test).
@Suite("text/plain integer parsing")
struct TextIntegerParsingTests {
    /// What decoding `bytes` as `type` (integer, time or unsigned integer) must give: the value, or the error code
    /// and offset. Byte by byte, as the rules read: an optional sign (signed types), at least one digit, only
    /// digits, overflow found at the digit that overflows, the signed range checked last (offset 0).
    static func model(_ bytes: [UInt8], _ type: LwM2MResourceType) -> Result<LwM2MValue, LwM2MCodecError> {
        func fail(_ offset: Int) -> Result<LwM2MValue, LwM2MCodecError> {
            .failure(LwM2MCodecError(code: .typeMismatch, reason: "model", offset: offset))
        }
        if bytes.isEmpty { return fail(0) }
        var start = 0
        let signed = type != .unsignedInteger
        if signed, bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") { start = 1 }
        if start == bytes.count { return fail(start) }
        var magnitude: UInt64 = 0
        for i in start..<bytes.count {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) else { return fail(i) }
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(bytes[i] - UInt8(ascii: "0")))
            if o1 || o2 { return fail(i) }
            magnitude = a
        }
        if !signed { return .success(.unsignedInteger(magnitude)) }
        let value: Int64
        if bytes[0] == UInt8(ascii: "-") {
            guard magnitude <= UInt64(Int64.max) + 1 else { return fail(0) }
            value = Int64(truncatingIfNeeded: 0 &- magnitude)
        } else {
            guard magnitude <= UInt64(Int64.max) else { return fail(0) }
            value = Int64(magnitude)
        }
        return .success(type == .time ? .time(value) : .integer(value))
    }

    /// Decodes `bytes` from `raw` (which holds exactly them) and checks the result against the model.
    static func check(_ raw: UnsafeRawBufferPointer, _ bytes: [UInt8], _ type: LwM2MResourceType,
                      sourceLocation: SourceLocation = #_sourceLocation) {
        let got = Result { () throws(LwM2MCodecError) in try LwM2MTextCodec.decode(raw, as: type) }
        let text = String(decoding: bytes, as: UTF8.self).debugDescription
        switch (got, model(bytes, type)) {
        case (.success(let value), .success(let expected)):
            #expect(value == expected, "\(text) as \(type)", sourceLocation: sourceLocation)
        case (.failure(let error), .failure(let expected)):
            #expect(error.code == expected.code && error.offset == expected.offset,
                    "\(text) as \(type): \(error)", sourceLocation: sourceLocation)
        case (let got, let expected):
            Issue.record("\(text) as \(type): \(got), expected \(expected)", sourceLocation: sourceLocation)
        }
    }

    static func check(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        for type in [LwM2MResourceType.integer, .time, .unsignedInteger] {
            bytes.withUnsafeBytes { check($0, bytes, type, sourceLocation: sourceLocation) }
        }
    }

    static func digits(_ count: Int, _ rng: inout SeededGenerator, leadingZero: Bool = false) -> [UInt8] {
        (0..<count).map { i in
            UInt8(ascii: "0") + UInt8(i == 0 && !leadingZero ? Int.random(in: 1...9, using: &rng)
                                                             : Int.random(in: 0...9, using: &rng))
        }
    }

    /// Every length 1...22, with no sign, "+" and "-", random digits, with and without leading zeros.
    @Test func everyLengthAndSign() throws {
        var rng = SeededGenerator(seed: 41)
        for count in 1...22 {
            for round in 0..<40 {
                let body = Self.digits(count, &rng, leadingZero: round % 4 == 0)
                for sign in [[], [UInt8(ascii: "+")], [UInt8(ascii: "-")]] { Self.check(sign + body) }
            }
            // All nines and all zeros of this length.
            for digit in ["9", "0"] {
                let body = [UInt8](repeating: UInt8(ascii: Unicode.Scalar(digit)!), count: count)
                for sign in [[], [UInt8(ascii: "+")], [UInt8(ascii: "-")]] { Self.check(sign + body) }
            }
        }
        // A few values spelled out, so that the model itself is checked.
        #expect(Self.model(utf8("100"), .integer) == .success(.integer(100)))
        #expect(Self.model(utf8("-00000042"), .integer) == .success(.integer(-42)))
        #expect(Self.model(utf8("+12345678"), .time) == .success(.time(12_345_678)))
        #expect(try LwM2MTextCodec.decode(utf8("-12345678"), as: .integer) == .integer(-12_345_678))
        #expect(try LwM2MTextCodec.decode(utf8("123456789012345678"), as: .integer)
            == .integer(123_456_789_012_345_678))
        #expect(try LwM2MTextCodec.decode(utf8("00000001"), as: .integer) == .integer(1))
        #expect(try LwM2MTextCodec.decode(utf8("-0"), as: .integer) == .integer(0))
    }

    /// A byte that is not a digit at every position of every length 1...21 (a sign counts as a digit's rival
    /// everywhere but first): a `typeMismatch` at that offset, or where the model says otherwise.
    @Test func nonDigitAtEveryPosition() {
        var rng = SeededGenerator(seed: 43)
        let bad: [UInt8] = [0x00, 0x09, 0x20, 0x2A, 0x2B, 0x2D, 0x2E, 0x2F, 0x3A, 0x3F, 0x40, 0x61, 0x7F, 0x80, 0xB0,
                            0xF9, 0xFA, 0xFF]
        for count in 1...21 {
            for position in 0..<count {
                for byte in bad {
                    var text = Self.digits(count, &rng)
                    text[position] = byte
                    Self.check(text)
                    if position > 0 { Self.check([UInt8(ascii: "-")] + text) }
                }
            }
        }
        // The model on a few of them.
        #expect(Self.model(utf8("12a"), .integer).failureOffset == 2)
        #expect(Self.model(utf8("+"), .integer).failureOffset == 1)
        #expect(Self.model(utf8("1234567:"), .integer).failureOffset == 7)
    }

    /// The eight-digit group reader on every byte value at every position of a group of digits, and on random
    /// groups: `nil` exactly when a byte is not a digit, else the value of the eight digits.
    @Test func digitGroupOnEveryByteAtEveryPosition() {
        var rng = SeededGenerator(seed: 53)
        func load(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
        for _ in 0..<4 {
            let base = Self.digits(8, &rng, leadingZero: true)
            for position in 0..<8 {
                for byte in 0...255 {
                    var group = base
                    group[position] = UInt8(byte)
                    let expected = group.allSatisfy { (0x30...0x39).contains($0) }
                        ? UInt64(String(decoding: group, as: UTF8.self)) : nil
                    #expect(LwM2MTextCodec.digitGroup(load(group)) == expected, "\(group)")
                }
            }
        }
        for _ in 0..<2000 {
            let group = (0..<8).map { _ in UInt8.random(in: 0x2A...0x3F, using: &rng) }
            let expected = group.allSatisfy { (0x30...0x39).contains($0) }
                ? UInt64(String(decoding: group, as: UTF8.self)) : nil
            #expect(LwM2MTextCodec.digitGroup(load(group)) == expected, "\(group)")
        }
        #expect(LwM2MTextCodec.digitGroup(load(utf8("99999999"))) == 99_999_999)
        #expect(LwM2MTextCodec.digitGroup(load(utf8("00000000"))) == 0)
        #expect(LwM2MTextCodec.digitGroup(load(utf8("12345678"))) == 12_345_678)
    }

    /// A sign alone, doubled, or where it does not belong; the empty text.
    @Test func signsAndEmptyText() {
        for text in ["+", "-", "++1", "--1", "+-1", "-+1", "1+", "1-", "-+", "", " ", "+ 1", "- 1", "0x1", "1e3"] {
            Self.check(utf8(text))
        }
        #expect(codecError { try LwM2MTextCodec.decode(utf8("+"), as: .integer) }?.offset == 1)
        #expect(codecError { try LwM2MTextCodec.decode(utf8("-"), as: .time) }?.offset == 1)
        #expect(codecError { try LwM2MTextCodec.decode(utf8("+5"), as: .unsignedInteger) }?.offset == 0)
    }

    /// Lengths around 19 digits (the longest that cannot overflow `UInt64`) and the `Int64` and `UInt64` limits,
    /// which the checked parser decides.
    @Test func boundaries() throws {
        for text in [
            "9223372036854775807", "+9223372036854775807", "9223372036854775808", "-9223372036854775808",
            "-9223372036854775809", "09223372036854775807", "-09223372036854775808", "9999999999999999999",
            "-9999999999999999999", "18446744073709551615", "18446744073709551616", "99999999999999999999",
            "1000000000000000000", "999999999999999999", "-999999999999999999", "0000000000000000000000000001",
            "184467440737095516150", "00000000000000000018446744073709551615",
        ] {
            Self.check(utf8(text))
        }
        #expect(try LwM2MTextCodec.decode(utf8("9223372036854775807"), as: .integer) == .integer(.max))
        #expect(try LwM2MTextCodec.decode(utf8("-9223372036854775808"), as: .integer) == .integer(.min))
        #expect(try LwM2MTextCodec.decode(utf8("18446744073709551615"), as: .unsignedInteger) == .unsignedInteger(.max))
        #expect(codecError { try LwM2MTextCodec.decode(utf8("9223372036854775808"), as: .integer) }?.offset == 0)
        #expect(codecError { try LwM2MTextCodec.decode(utf8("18446744073709551616"), as: .unsignedInteger) }?
            .offset == 19)
    }

    /// An empty buffer that is part of a larger one (a payload of length 0 inside a datagram) is empty: the byte
    /// after it is not read, even when it is a digit.
    @Test func emptySliceIsEmpty() {
        let datagram: [UInt8] = utf8("7")
        datagram.withUnsafeBytes { raw in
            let empty = UnsafeRawBufferPointer(rebasing: raw[0..<0])
            #expect(empty.baseAddress != nil)
            for type in [LwM2MResourceType.integer, .time, .unsignedInteger] {
                let error = codecError { try LwM2MTextCodec.decode(empty, as: type) }
                #expect(error?.code == .typeMismatch && error?.offset == 0, "\(type)")
            }
        }
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        #expect(codecError { try LwM2MTextCodec.decode(none, as: .integer) }?.offset == 0)
    }

    /// Text of every length 1...24 placed right after and right before an unreadable page: any read outside the
    /// text crashes. Digits, signs and a non-digit at the last position.
    @Test func readsOnlyInsideTheBuffer() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        // Three pages: none, read/write, none.
        guard let map = mmap(nil, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              map != MAP_FAILED
        else {
            Issue.record("mmap failed")
            return
        }
        defer { munmap(map, 3 * page) }
        #expect(mprotect(map, page, PROT_NONE) == 0)
        #expect(mprotect(map + 2 * page, page, PROT_NONE) == 0)
        let middle = map + page
        var rng = SeededGenerator(seed: 47)
        for count in 1...24 {
            var texts = [Self.digits(count, &rng), Self.digits(count, &rng, leadingZero: true)]
            if count > 1 {
                texts.append([UInt8(ascii: "-")] + Self.digits(count - 1, &rng))
                texts.append([UInt8(ascii: "+")] + Self.digits(count - 1, &rng))
                var bad = Self.digits(count, &rng)
                bad[count - 1] = UInt8(ascii: "x")
                texts.append(bad)
            } else {
                texts += [utf8("-"), utf8("+"), utf8("x")]
            }
            for text in texts {
                // At the end of the readable page, then at its start.
                for start in [middle + page - text.count, middle] {
                    text.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: text.count) }
                    let raw = UnsafeRawBufferPointer(start: start, count: text.count)
                    for type in [LwM2MResourceType.integer, .time, .unsignedInteger] { Self.check(raw, text, type) }
                }
            }
        }
    }
}

extension Result where Failure == LwM2MCodecError {
    var failureOffset: Int? {
        if case .failure(let error) = self { return error.offset }
        return nil
    }
}
