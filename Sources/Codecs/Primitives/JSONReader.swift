/// A strict JSON (RFC 8259) reader over a UTF-8 byte buffer.
///
/// Strings are returned as ranges of the input when they hold no escapes, else as unescaped bytes; escapes include
/// `\u` surrogate pairs (a lone surrogate is an error), control characters must be escaped and non-ASCII text must be
/// valid UTF-8. Numbers are classified as integers (no fraction, no exponent, fits 64 bits) or floats. Nesting is
/// capped at `maxDepth` and `finish()` rejects anything but whitespace after the value.
struct JSONReader {
    /// A JSON number.
    enum Number {
        case integer(Int64)
        /// A non-negative integer above `Int64.max`.
        case unsigned(UInt64)
        case float(Double)

        /// The number as a `Double`.
        var double: Double {
            switch self {
            case .integer(let i): return Double(i)
            case .unsigned(let u): return Double(u)
            case .float(let d): return d
            }
        }
    }

    /// The input.
    let input: UnsafeRawBufferPointer
    /// The offset of the next byte to read.
    var offset: Int = 0
    /// The deepest nesting `skipValue()` follows.
    let maxDepth: Int

    /// A reader at the start of `input`.
    init(_ input: UnsafeRawBufferPointer, maxDepth: Int = 16) {
        self.input = input
        self.maxDepth = maxDepth
    }

    /// Skips whitespace and returns the next byte without consuming it.
    @inline(__always)
    mutating func peek() throws(LwM2MCodecError) -> UInt8 {
        while offset < input.count {
            let c = input[offset]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 {
                offset += 1
            } else {
                return c
            }
        }
        throw WireError.truncated(offset, "JSON text")
    }

    /// Skips whitespace and consumes `byte`, or throws.
    @inline(__always)
    mutating func expect(_ byte: UInt8) throws(LwM2MCodecError) {
        let c = try peek()
        guard c == byte else {
            throw WireError.malformed(offset, "expected '\(Character(Unicode.Scalar(byte)))'")
        }
        offset += 1
    }

    /// Skips whitespace and consumes `byte` if it is next.
    @inline(__always)
    mutating func consume(_ byte: UInt8) throws(LwM2MCodecError) -> Bool {
        if try peek() == byte {
            offset += 1
            return true
        }
        return false
    }

    /// After an element of an array or object: consumes `,` (returns `true`) or `close` (returns `false`).
    @inline(__always)
    mutating func nextElement(close: UInt8) throws(LwM2MCodecError) -> Bool {
        let c = try peek()
        offset += 1
        if c == 0x2C { return true }
        if c == close { return false }
        throw WireError.malformed(offset - 1, "expected ',' or '\(Character(Unicode.Scalar(close)))'")
    }

    /// Throws `trailingBytes` unless only whitespace is left.
    mutating func finish() throws(LwM2MCodecError) {
        while offset < input.count {
            let c = input[offset]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { throw WireError.trailing(offset) }
            offset += 1
        }
    }

    /// Reads a string (the next token must be one).
    mutating func readString() throws(LwM2MCodecError) -> WireString {
        guard try peek() == 0x22 else { throw WireError.malformed(offset, "expected a string") }
        let start = offset
        offset += 1
        let contentStart = offset
        var nonASCII = false
        while offset < input.count {
            let c = input[offset]
            if c == 0x22 {
                let s = WireString.span(contentStart, offset)
                offset += 1
                if nonASCII && !Self.isValidUTF8(
                    UnsafeRawBufferPointer(rebasing: input[contentStart..<offset - 1]).assumingMemoryBound(to: UInt8.self))
                {
                    throw WireError.malformed(start, "string is not valid UTF-8")
                }
                return s
            }
            if c == 0x5C { return .owned(try readEscapedString(from: contentStart, start: start)) }
            if c < 0x20 { throw WireError.malformed(offset, "unescaped control character in a string") }
            if c >= 0x80 { nonASCII = true }
            offset += 1
        }
        throw WireError.truncated(start, "JSON string")
    }

    /// Continues reading a string that contains escapes, from its first byte `contentStart`.
    private mutating func readEscapedString(from contentStart: Int, start: Int) throws(LwM2MCodecError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(offset - contentStart + 16)
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[contentStart..<offset]))
        while offset < input.count {
            let c = input[offset]
            if c == 0x22 {
                offset += 1
                guard Self.isValidUTF8(out) else { throw WireError.malformed(start, "string is not valid UTF-8") }
                return out
            }
            if c < 0x20 { throw WireError.malformed(offset, "unescaped control character in a string") }
            if c != 0x5C {
                out.append(c)
                offset += 1
                continue
            }
            let escape = offset
            guard offset + 1 < input.count else { throw WireError.truncated(escape, "JSON string") }
            let e = input[offset + 1]
            offset += 2
            switch e {
            case 0x22, 0x5C, 0x2F: out.append(e)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = try hex4(at: escape)
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard offset + 1 < input.count, input[offset] == 0x5C, input[offset + 1] == 0x75 else {
                        throw WireError.malformed(escape, "unpaired surrogate in \\u escape")
                    }
                    offset += 2
                    let low = try hex4(at: escape)
                    guard low >= 0xDC00 && low < 0xE000 else {
                        throw WireError.malformed(escape, "unpaired surrogate in \\u escape")
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw WireError.malformed(escape, "unpaired surrogate in \\u escape")
                }
                Self.appendUTF8(scalar, to: &out)
            default:
                throw WireError.malformed(escape, "invalid escape")
            }
        }
        throw WireError.truncated(start, "JSON string")
    }

    private mutating func hex4(at escape: Int) throws(LwM2MCodecError) -> UInt32 {
        guard input.count - offset >= 4 else { throw WireError.truncated(escape, "\\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = input[offset]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw WireError.malformed(escape, "invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
            offset += 1
        }
        return v
    }

    private static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6))
            out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12))
            out.append(UInt8(0x80 | (scalar >> 6) & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18))
            out.append(UInt8(0x80 | (scalar >> 12) & 0x3F))
            out.append(UInt8(0x80 | (scalar >> 6) & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Whether `bytes` are well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
    @inline(__always)
    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var k = 0
        while k < bytes.count && bytes[k] < 0x80 { k += 1 }
        if k == bytes.count { return true }
        return isValidUTF8(bytes[k...])
    }

    /// Whether `bytes` are well-formed UTF-8 (see above).
    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { isValidUTF8($0) }
    }

    /// Whether `bytes` are well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
    static func isValidUTF8(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        var it = bytes.makeIterator()
        while let b0 = it.next() {
            if b0 < 0x80 { continue }
            let needed: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: needed = 1
            case 0xE0: needed = 2; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: needed = 2
            case 0xED: needed = 2; upper = 0x9F
            case 0xF0: needed = 3; lower = 0x90
            case 0xF1...0xF3: needed = 3
            case 0xF4: needed = 3; upper = 0x8F
            default: return false
            }
            for k in 0..<needed {
                guard let b = it.next() else { return false }
                if k == 0 {
                    guard b >= lower && b <= upper else { return false }
                } else {
                    guard b >= 0x80 && b <= 0xBF else { return false }
                }
            }
        }
        return true
    }

    /// Reads a number (the next token must be one).
    mutating func readNumber() throws(LwM2MCodecError) -> Number {
        _ = try peek()
        let start = offset
        var negative = false
        if input[offset] == 0x2D {
            negative = true
            offset += 1
        }
        // Integer part: 0 or [1-9][0-9]*.
        var mantissa: UInt64 = 0
        var digits = 0
        var overflow = false
        let intStart = offset
        while offset < input.count, case let c = input[offset], c >= 0x30 && c <= 0x39 {
            let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(c - 0x30))
            if o1 || o2 { overflow = true } else { mantissa = m2 }
            digits += 1
            offset += 1
        }
        guard digits > 0 else { throw WireError.malformed(start, "invalid number") }
        if digits > 1 && input[intStart] == 0x30 { throw WireError.malformed(start, "leading zero in a number") }
        var isFloat = false
        var fractionDigits = 0
        if offset < input.count && input[offset] == 0x2E {
            isFloat = true
            offset += 1
            while offset < input.count, case let c = input[offset], c >= 0x30 && c <= 0x39 {
                let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(UInt64(c - 0x30))
                if o1 || o2 { overflow = true } else { mantissa = m2 }
                fractionDigits += 1
                digits += 1
                offset += 1
            }
            guard fractionDigits > 0 else { throw WireError.malformed(start, "invalid number") }
        }
        var exponent = 0
        if offset < input.count && (input[offset] == 0x65 || input[offset] == 0x45) {
            isFloat = true
            offset += 1
            var expNegative = false
            if offset < input.count && (input[offset] == 0x2B || input[offset] == 0x2D) {
                expNegative = input[offset] == 0x2D
                offset += 1
            }
            var expDigits = 0
            while offset < input.count, case let c = input[offset], c >= 0x30 && c <= 0x39 {
                if exponent < 100_000 { exponent = exponent * 10 + Int(c - 0x30) }
                expDigits += 1
                offset += 1
            }
            guard expDigits > 0 else { throw WireError.malformed(start, "invalid number") }
            if expNegative { exponent = -exponent }
        }
        if !isFloat && !overflow {
            if negative {
                if mantissa <= UInt64(Int64.max) { return .integer(-Int64(mantissa)) }
                if mantissa == UInt64(Int64.max) + 1 { return .integer(.min) }
            } else {
                return mantissa <= UInt64(Int64.max) ? .integer(Int64(mantissa)) : .unsigned(mantissa)
            }
        }
        // Exact fast path (Clinger): at most 15 significant digits and a power of ten that is exact in a Double.
        let power = exponent - fractionDigits
        if !overflow && mantissa < (1 << 53) && power >= -22 && power <= 22 {
            var d = Double(mantissa)
            if power < 0 { d /= Self.powersOfTen[-power] } else { d *= Self.powersOfTen[power] }
            return .float(negative ? -d : d)
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: input[start..<offset]), as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw WireError.malformed(start, "number out of range") }
        return .float(d)
    }

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22,
    ]

    /// Reads `true` or `false`.
    mutating func readBool() throws(LwM2MCodecError) -> Bool {
        let c = try peek()
        if c == 0x74, matchLiteral("true") { return true }
        if c == 0x66, matchLiteral("false") { return false }
        throw WireError.malformed(offset, "expected true or false")
    }

    /// Consumes `null` if it is next.
    mutating func readNull() throws(LwM2MCodecError) -> Bool {
        if try peek() == 0x6E, matchLiteral("null") { return true }
        return false
    }

    private mutating func matchLiteral(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard input.count - offset >= n else { return false }
        for k in 0..<n where input[offset + k] != literal.utf8Start[k] { return false }
        offset += n
        return true
    }

    /// Skips one complete value (with everything nested in it).
    mutating func skipValue(depth: Int = 0) throws(LwM2MCodecError) {
        guard depth < maxDepth else { throw WireError.tooDeep(offset) }
        switch try peek() {
        case 0x22:
            _ = try readString()
        case 0x7B:
            offset += 1
            if try consume(0x7D) { return }
            repeat {
                _ = try readString()
                try expect(0x3A)
                try skipValue(depth: depth + 1)
            } while try nextElement(close: 0x7D)
        case 0x5B:
            offset += 1
            if try consume(0x5D) { return }
            repeat {
                try skipValue(depth: depth + 1)
            } while try nextElement(close: 0x5D)
        case 0x74, 0x66:
            _ = try readBool()
        case 0x6E:
            guard try readNull() else { throw WireError.malformed(offset, "invalid literal") }
        default:
            _ = try readNumber()
        }
    }
}
