public import LwM2MModel

/// The `text/plain` content format (0, LwM2M 1.0 legacy 1541): one resource or resource instance value as text.
///
/// Representations (Core TS 1.1 section 7.4.1 and Appendix C):
/// - Integer, Time: decimal ASCII (`-12`, `1367491215`); Unsigned Integer: decimal ASCII without sign.
/// - Float: the shortest decimal text that reads back to the same `Double` (`1.5`, `100.0`, `1e-07`).
/// - Boolean: `0` or `1`.
/// - String, Corelnk: the UTF-8 text itself.
/// - Objlnk: `objectID:instanceID`, e.g. `3:0`.
/// - Opaque: base64 (RFC 4648 section 4, with padding).
///
/// Text carries no type: the decoder takes it from the resource definition. With no definition (`type == nil`)
/// the text is kept as ``LwM2MValue/string(_:)`` - the most faithful untyped form - and the caller reports the
/// resource as untyped (``LwM2MCodec`` does, see ``LwM2MDecodedNode/untypedPaths``).
public enum LwM2MTextCodec {
    /// Appends the text form of `value` to `out`.
    ///
    /// Throws `typeMismatch` for a non-finite float, which text/plain cannot represent.
    @inlinable @inline(__always)
    public static func encode(_ value: LwM2MValue, into out: inout [UInt8]) throws(LwM2MCodecError) {
        // Numbers inline (the common case: digits written straight into `out`); the rest out of line.
        switch value {
        case .integer(let v), .time(let v):
            appendDecimal(v, into: &out)
        case .unsignedInteger(let v):
            appendDecimal(v, into: &out)
        case .boolean(let b):
            out.append(b ? UInt8(ascii: "1") : UInt8(ascii: "0"))
        default:
            try encodeOther(value, into: &out)
        }
    }

    /// The text of strings, floats, object links and opaque values.
    @usableFromInline
    static func encodeOther(_ value: LwM2MValue, into out: inout [UInt8]) throws(LwM2MCodecError) {
        switch value {
        case .integer, .time, .unsignedInteger, .boolean:
            try encode(value, into: &out)  // written inline there; never reaches this function again
        case .string(let s), .coreLink(let s):
            appendUTF8(s, into: &out)
        case .float(let d):
            guard d.isFinite else {
                throw LwM2MCodecError(code: .typeMismatch, reason: "text/plain cannot carry the float \(d)")
            }
            appendUTF8(d.description, into: &out)
        case .objectLink(let link):
            appendDecimal(UInt64(link.objectID), into: &out)
            out.append(UInt8(ascii: ":"))
            appendDecimal(UInt64(link.instanceID), into: &out)
        case .opaque(let bytes):
            Base64.encode(bytes, into: &out)
        }
    }

    /// Writes the text form of `value` into caller-provided storage (a datagram or `ByteBuffer` being filled, a
    /// stack buffer) and returns how many bytes it wrote, from the start of `buffer`.
    ///
    /// The same bytes as ``encode(_:into:)-([UInt8])``, with no array in between: an integer, time, unsigned
    /// integer or boolean is written straight into `buffer` (at most 20 bytes; nothing is allocated). Throws
    /// `limitExceeded`, having written nothing, when the text does not fit, and `typeMismatch` for a non-finite
    /// float.
    @inlinable @inline(__always)
    public static func encode(
        _ value: LwM2MValue, into buffer: UnsafeMutableRawBufferPointer
    ) throws(LwM2MCodecError) -> Int {
        // Inline: numbers and booleans that fit (no error is built here); everything else out of line.
        let magnitude: UInt64
        let negative: Bool
        switch value {
        case .integer(let v), .time(let v):
            magnitude = v.magnitude
            negative = v < 0
        case .unsignedInteger(let v):
            magnitude = v
            negative = false
        case .boolean(let b):
            magnitude = b ? 1 : 0
            negative = false
        default:
            return try encodeOther(value, into: buffer)
        }
        let digits = decimalDigitCount(magnitude)
        let total = negative ? digits &+ 1 : digits
        guard let base = buffer.baseAddress, total <= buffer.count else { return try encodeOther(value, into: buffer) }
        writeDecimal(magnitude, negative: negative, total: total, to: base.bindMemory(to: UInt8.self, capacity: total))
        return total
    }

    /// The text of strings, floats, object links and opaque values into caller-provided storage, and of any value
    /// that does not fit (the error): measured first, so nothing is written when it does not fit.
    @usableFromInline
    static func encodeOther(
        _ value: LwM2MValue, into buffer: UnsafeMutableRawBufferPointer
    ) throws(LwM2MCodecError) -> Int {
        var length: Int
        switch value {
        case .string(let s), .coreLink(let s): length = s.utf8.count
        case .float(let d):
            guard d.isFinite else {
                throw LwM2MCodecError(code: .typeMismatch, reason: "text/plain cannot carry the float \(d)")
            }
            length = d.description.utf8.count
        case .objectLink(let link):
            length = LwM2MPathText.length(link)
        case .opaque(let bytes):
            length = JSONBase64.encodedLength(bytes.count, padding: true)
        case .integer(let v), .time(let v):
            length = decimalDigitCount(v.magnitude) &+ (v < 0 ? 1 : 0)
        case .unsignedInteger(let v):
            length = decimalDigitCount(v)
        case .boolean:
            length = 1
        }
        guard let base = buffer.baseAddress, length <= buffer.count else {
            throw bufferTooSmall(length, buffer.count)
        }
        var cursor = ByteCursor(base: base.bindMemory(to: UInt8.self, capacity: length), limit: length)
        switch value {
        case .string(let s), .coreLink(let s): cursor.appendText(s)
        case .float(let d): cursor.appendText(d.description)
        case .objectLink(let link): LwM2MPathText.append(link, into: &cursor)
        case .opaque(let bytes): JSONBase64.encode(bytes, urlSafe: false, padding: true, into: &cursor)
        case .integer(let v), .time(let v): cursor.appendDecimal(v.magnitude, negative: v < 0)
        case .unsignedInteger(let v): cursor.appendDecimal(v)
        case .boolean(let b): cursor.append(b ? UInt8(ascii: "1") : UInt8(ascii: "0"))
        }
        length = cursor.count
        return length
    }

    private static func bufferTooSmall(_ needed: Int, _ available: Int) -> LwM2MCodecError {
        LwM2MCodecError(
            code: .limitExceeded, reason: "the text takes \(needed) bytes; the buffer holds \(available)")
    }

    /// Decodes a text/plain payload as a value of `type`; `nil` (unknown resource) keeps the text as a string.
    ///
    /// Errors: `malformed` for text that is not UTF-8 or bad base64, `typeMismatch` for text that does not read
    /// as `type` (e.g. `abc` for an integer, `2` for a boolean, `1e999` for a float); the offset is where the
    /// problem starts.
    @inlinable @inline(__always)
    public static func decode(_ bytes: UnsafeRawBufferPointer, as type: LwM2MResourceType?) throws(LwM2MCodecError)
        -> LwM2MValue
    {
        // Inline fast path for short well-formed integers and times (what a Read of a numeric resource returns);
        // anything else, including every error, goes through `decodeChecked`, which parses with full checks.
        if type == .integer || type == .time, let v = parseShortSigned(bytes) {
            return type == .integer ? .integer(v) : .time(v)
        }
        return try decodeChecked(bytes, as: type)
    }

    /// The complete decoder behind ``decode(_:as:)-(UnsafeRawBufferPointer,_)``: every type, every error.
    @usableFromInline
    static func decodeChecked(_ bytes: UnsafeRawBufferPointer, as type: LwM2MResourceType?) throws(LwM2MCodecError)
        -> LwM2MValue
    {
        guard let type else { return .string(try decodeUTF8(bytes)) }
        switch type {
        case .integer:
            return .integer(try parseSigned(bytes, type))
        case .time:
            return .time(try parseSigned(bytes, type))
        case .unsignedInteger:
            return .unsignedInteger(try parseUnsigned(bytes, from: 0, to: bytes.count, type))
        case .boolean:
            if bytes.count == 1 {
                if bytes[0] == UInt8(ascii: "0") { return .boolean(false) }
                if bytes[0] == UInt8(ascii: "1") { return .boolean(true) }
            }
            throw LwM2MCodecError(code: .typeMismatch, reason: "a boolean in text is 0 or 1", offset: 0)
        case .float:
            return .float(try parseFloat(bytes))
        case .string, .none:
            return .string(try decodeUTF8(bytes))
        case .coreLink:
            return .coreLink(try decodeUTF8(bytes))
        case .objectLink:
            return .objectLink(try parseObjectLink(bytes))
        case .opaque:
            return .opaque(try Base64.decode(bytes))
        }
    }

    /// `[+-]digits` in at most 8 bytes, or `nil` for anything else (which the checked parser then reads, eight
    /// digits at a time, or rejects with the right error).
    ///
    /// Kept to what most integer resources hold, so that the code inlined into callers is a few instructions:
    /// one load per digit and no overflow possible (at most 8 digits). Text without a sign, the usual case, runs
    /// straight through its own copy of the digit loop.
    @inlinable @inline(__always)
    static func parseShortSigned(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let n = bytes.count
        // 1...8 bytes, compared unsigned: an empty buffer (which may have no base address) wraps around and fails.
        guard UInt(bitPattern: n &- 1) < 8 else { return nil }
        let p = bytes.baseAddress.unsafelyUnwrapped
        let first = p.load(as: UInt8.self)
        let leading = Int64(first) &- 0x30
        if _fastPath(UInt64(bitPattern: leading) < 10) { return digits(p, n, after: leading) }
        guard first == UInt8(ascii: "-") || first == UInt8(ascii: "+"), n > 1, let v = digits(p, n, after: 0) else {
            return nil
        }
        return first == UInt8(ascii: "-") ? 0 &- v : v
    }

    /// The value of `leading` followed by the digits `p[1..<n]` (at most 7), or `nil` if one of them is not a digit.
    @inlinable @inline(__always)
    static func digits(_ p: UnsafeRawPointer, _ n: Int, after leading: Int64) -> Int64? {
        var v = leading
        var i = 1
        while i < n {
            let d = Int64(p.load(fromByteOffset: i, as: UInt8.self)) &- 0x30
            guard UInt64(bitPattern: d) < 10 else { return nil }
            v = v &* 10 &+ d
            i &+= 1
        }
        return v
    }

    /// The value of eight ASCII digits loaded as one word (the first digit at the lowest address), or `nil` when
    /// one of the eight bytes is not `0`-`9`.
    @inlinable @inline(__always)
    static func digitGroup(_ loaded: UInt64) -> UInt64? {
        let word = UInt64(littleEndian: loaded)  // the first digit in the lowest byte
        // A digit byte is 0x30...0x39: high nibble 3, and still 3 after adding 6. A carry out of a byte (>= 0xFA)
        // only changes the bytes above it, and the byte it leaves has already failed.
        let high = word & 0xF0F0_F0F0_F0F0_F0F0
        let highPlus6 = (word &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0
        guard high | highPlus6 >> 4 == 0x3333_3333_3333_3333 else { return nil }
        // Pairs, then quads, then the eight (the digit values are the low nibbles; the first is the most
        // significant).
        var v = word & 0x0F0F_0F0F_0F0F_0F0F
        v = (v &* (10 << 8 + 1)) >> 8 & 0x00FF_00FF_00FF_00FF
        v = (v &* (100 << 16 + 1)) >> 16 & 0x0000_FFFF_0000_FFFF
        return (v &* (10_000 << 32 + 1)) >> 32
    }

    /// Decodes a text/plain payload held in an array (see ``decode(_:as:)-(UnsafeRawBufferPointer,_)``).
    @inlinable
    public static func decode(_ bytes: [UInt8], as type: LwM2MResourceType?) throws(LwM2MCodecError) -> LwM2MValue {
        try withRawBytes(bytes) { (raw) throws(LwM2MCodecError) in try decode(raw, as: type) }
    }

    // MARK: - Writing

    @inlinable
    static func appendDecimal(_ value: Int64, into out: inout [UInt8]) {
        appendDecimal(value.magnitude, negative: value < 0, into: &out)
    }

    @inlinable
    static func appendDecimal(_ value: UInt64, into out: inout [UInt8]) {
        appendDecimal(value, negative: false, into: &out)
    }

    /// The number of decimal digits of `value` (1...20).
    @inlinable @inline(__always)
    static func decimalDigitCount(_ value: UInt64) -> Int {
        if value < 10 { return 1 }
        if value < 100 { return 2 }
        if value < 1000 { return 3 }
        var n = 4
        var v = value / 10_000
        while v != 0 {
            n &+= 1
            v /= 10
        }
        return n
    }

    /// Appends `-` (when `negative`) and the decimal digits of `value`: one capacity check, then the digits are
    /// written backwards straight into the array's spare capacity (no intermediate buffer, no generic append).
    @inlinable
    static func appendDecimal(_ value: UInt64, negative: Bool, into out: inout [UInt8]) {
        let digits = decimalDigitCount(value)
        let total = negative ? digits &+ 1 : digits
        #if canImport(Darwin)
        // `Array.append(addingCapacity:)` needs a recent OS on Apple platforms: a stack buffer and one copy.
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { raw in
            let p = raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self)
            writeDecimal(value, negative: negative, total: total, to: p)
            out.append(contentsOf: UnsafeBufferPointer(start: p, count: total))
        }
        #else
        out.append(addingCapacity: total) { span in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                // The span starts empty with at least `total` free elements. One digit per step: the pair table's
                // larger code would keep `append(addingCapacity:)` from being inlined, which costs more than it saves.
                let p = buffer.baseAddress.unsafelyUnwrapped
                var v = value
                var i = total
                repeat {
                    i &-= 1
                    let q = v / 10
                    p[i] = UInt8(truncatingIfNeeded: v &- q &* 10) &+ 0x30
                    v = q
                } while v != 0
                if negative { p[0] = UInt8(ascii: "-") }
                initialized = total
            }
        }
        #endif
    }

    /// Writes `total` bytes at `p`: `-` when `negative`, then the digits of `value`, filled from the end two at a
    /// time (one division by 100 per pair, the pair's two bytes from a table).
    @inlinable @inline(__always)
    static func writeDecimal(_ value: UInt64, negative: Bool, total: Int, to p: UnsafeMutablePointer<UInt8>) {
        var v = value
        var i = total
        while v >= 100 {
            let q = v / 100
            let r = Int(truncatingIfNeeded: v &- q &* 100)
            i &-= 2
            UnsafeMutableRawPointer(p + i).storeBytes(of: digitPair(r), as: UInt16.self)
            v = q
        }
        if v >= 10 {
            i &-= 2
            UnsafeMutableRawPointer(p + i).storeBytes(of: digitPair(Int(truncatingIfNeeded: v)), as: UInt16.self)
        } else {
            i &-= 1
            p[i] = UInt8(truncatingIfNeeded: v) &+ 0x30
        }
        if negative { p[0] = UInt8(ascii: "-") }
    }

    /// The two ASCII digits of `r` (0...99) as they lie in memory, from a table.
    @inlinable @inline(__always)
    static func digitPair(_ r: Int) -> UInt16 {
        let pairs: StaticString = """
            00010203040506070809101112131415161718192021222324252627282930313233343536373839\
            40414243444546474849505152535455565758596061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899
            """
        return UnsafeRawPointer(pairs.utf8Start).loadUnaligned(fromByteOffset: r &* 2, as: UInt16.self)
    }

    @inlinable
    static func appendUTF8(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { out.append(contentsOf: $0) }
    }

    // MARK: - Reading

    @inlinable
    static func decodeUTF8(_ bytes: UnsafeRawBufferPointer) throws(LwM2MCodecError) -> String {
        if let bad = UTF8Validation.firstInvalid(bytes) {
            throw LwM2MCodecError(code: .malformed, reason: "text is not valid UTF-8", offset: bad)
        }
        return String(decoding: bytes.bindMemoryAssumingUInt8(), as: UTF8.self)
    }

    @inlinable
    static func parseSigned(_ bytes: UnsafeRawBufferPointer, _ type: LwM2MResourceType) throws(LwM2MCodecError) -> Int64 {
        let n = bytes.count
        guard n > 0 else {
            throw LwM2MCodecError(code: .typeMismatch, reason: "empty text for \(type.rawValue)", offset: 0)
        }
        var start = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") {
            negative = true
            start = 1
        } else if bytes[0] == UInt8(ascii: "+") {
            start = 1
        }
        let magnitude = try parseUnsigned(bytes, from: start, to: n, type)
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else {
                throw LwM2MCodecError(code: .typeMismatch, reason: "\(type.rawValue) out of range", offset: 0)
            }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else {
            throw LwM2MCodecError(code: .typeMismatch, reason: "\(type.rawValue) out of range", offset: 0)
        }
        return Int64(magnitude)
    }

    @inlinable
    static func parseUnsigned(
        _ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int, _ type: LwM2MResourceType
    ) throws(LwM2MCodecError) -> UInt64 {
        guard start < end else {
            throw LwM2MCodecError(code: .typeMismatch, reason: "no digits for \(type.rawValue)", offset: start)
        }
        var value: UInt64 = 0
        var i = start
        // Up to 19 digits cannot overflow: no checks needed. Eight digits at a time while eight are left (a group
        // with a non-digit is read again one by one, which finds it and its offset), then one at a time.
        if end &- start <= 19 {
            let base = bytes.baseAddress.unsafelyUnwrapped  // not nil: start < end <= count
            while i < end {
                if end &- i >= 8, let g = digitGroup((base + i).loadUnaligned(as: UInt64.self)) {
                    value = value &* 100_000_000 &+ g
                    i &+= 8
                    continue
                }
                let d = bytes[i] &- 0x30
                guard d < 10 else {
                    throw LwM2MCodecError(code: .typeMismatch, reason: "not a digit in \(type.rawValue)", offset: i)
                }
                value = value &* 10 &+ UInt64(d)
                i &+= 1
            }
            return value
        }
        while i < end {
            let d = bytes[i] &- 0x30
            guard d < 10 else {
                throw LwM2MCodecError(code: .typeMismatch, reason: "not a digit in \(type.rawValue)", offset: i)
            }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            guard !o1 && !o2 else {
                throw LwM2MCodecError(code: .typeMismatch, reason: "\(type.rawValue) out of range", offset: i)
            }
            value = a
            i += 1
        }
        return value
    }

    /// Checks `[+-]digits[.digits][(e|E)[+-]digits]` (at least one mantissa digit), then converts.
    @usableFromInline
    static func parseFloat(_ bytes: UnsafeRawBufferPointer) throws(LwM2MCodecError) -> Double {
        let n = bytes.count
        var i = 0
        func fail(_ at: Int) -> LwM2MCodecError {
            LwM2MCodecError(code: .typeMismatch, reason: "not a decimal float", offset: at)
        }
        if i < n && (bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+")) { i += 1 }
        var mantissaDigits = 0
        while i < n && bytes[i] &- 0x30 < 10 { i += 1; mantissaDigits += 1 }
        if i < n && bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < n && bytes[i] &- 0x30 < 10 { i += 1; mantissaDigits += 1 }
        }
        guard mantissaDigits > 0 else { throw fail(min(i, n)) }
        if i < n && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            i += 1
            if i < n && (bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+")) { i += 1 }
            var expDigits = 0
            while i < n && bytes[i] &- 0x30 < 10 { i += 1; expDigits += 1 }
            guard expDigits > 0 else { throw fail(i) }
        }
        guard i == n else { throw fail(i) }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let d = Double(text), d.isFinite else {
            throw LwM2MCodecError(code: .typeMismatch, reason: "float out of range", offset: 0)
        }
        return d
    }

    @usableFromInline
    static func parseObjectLink(_ bytes: UnsafeRawBufferPointer) throws(LwM2MCodecError) -> LwM2MObjectLink {
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else {
            throw LwM2MCodecError(code: .typeMismatch, reason: "an object link is objectID:instanceID", offset: 0)
        }
        let o = try parseUnsigned(bytes, from: 0, to: colon, .objectLink)
        let i = try parseUnsigned(bytes, from: colon + 1, to: bytes.count, .objectLink)
        guard o <= 0xFFFF, i <= 0xFFFF else {
            throw LwM2MCodecError(code: .typeMismatch, reason: "object link identifiers are 16 bits", offset: 0)
        }
        return LwM2MObjectLink(objectID: UInt16(o), instanceID: UInt16(i))
    }
}

extension UnsafeRawBufferPointer {
    /// The bytes as `UInt8` elements (raw memory is always bindable to `UInt8`).
    @inlinable
    func bindMemoryAssumingUInt8() -> UnsafeBufferPointer<UInt8> {
        guard let base = baseAddress else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: count)
    }
}

/// Runs `body` over the bytes of `array` without copying.
@inlinable
func withRawBytes<R>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(LwM2MCodecError) -> R)
    throws(LwM2MCodecError) -> R
{
    // `withUnsafeBytes` rethrows untyped; carry the typed error out through a Result.
    let result: Result<R, LwM2MCodecError> = array.withUnsafeBytes { raw in
        do throws(LwM2MCodecError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}
