import LwM2MModel

/// The fast path of SenML JSON decoding: one pass over the bytes for the packs LwM2M peers write, with no
/// intermediate strings, records or field structs.
///
/// It only takes the well-formed common case: the labels `bn`, `bt`, `n`, `t`, `v`, `vs`, `vb`, `vd` and `vlo`,
/// keys without escapes, names and links without escapes, and strings without escapes. Anything else (another label,
/// an escape, a repeated label, a syntax error, a name that is not a path, text that is not UTF-8) makes `read`
/// answer `.unsupported`, and the strict reader (`SenMLPackReader` over `SenMLJSONCodec.Syntax`) reads the pack
/// again and reports exactly the error it always did. Whatever this reader accepts, the strict reader accepts too and
/// resolves to the same records; its only job is to be faster on that subset.
///
/// Every read is bounded: `byte(_:)` answers 0 past the end, and 0 is never an expected token, so the end of the
/// input ends up as `.unsupported` like any other surprise.
struct SenMLJSONFastReader {
    /// How a read ended.
    enum Outcome {
        /// Every record went to the sink and only whitespace follows the pack.
        case done
        /// The sink declined a record (the caller then takes another way).
        case declined
        /// Something outside the fast subset: read the pack with the strict reader.
        case unsupported
    }

    private let input: UnsafeRawBufferPointer
    private let bytes: UnsafePointer<UInt8>
    private let count: Int
    private var offset = 0

    init(_ input: UnsafeRawBufferPointer) {
        self.input = input
        // An empty input is never a pack; a dangling pointer with count 0 then ends in `.unsupported` at once.
        bytes = (input.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!).assumingMemoryBound(to: UInt8.self)
        count = input.count
    }

    /// The byte at `k`, or 0 past the end.
    @inline(__always)
    private func byte(_ k: Int) -> UInt8 {
        k < count ? bytes[k] : 0
    }

    /// Skips whitespace; the next byte (not consumed), or 0 at the end.
    @inline(__always)
    private mutating func next() -> UInt8 {
        var c = byte(offset)
        if c > 0x20 { return c }
        while c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 {
            offset += 1
            c = byte(offset)
        }
        return c
    }

    /// Reads a string without escapes whose opening quote is at `offset`: the range of its content, or `nil` (an
    /// escape, a control character, the end of the input).
    @inline(__always)
    private mutating func span() -> Range<Int>? {
        let start = offset + 1
        var k = start
        while k < count {
            let c = bytes[k]
            if c == 0x22 {
                offset = k + 1
                return start..<k
            }
            if c == 0x5C || c < 0x20 { return nil }
            k += 1
        }
        return nil
    }

    /// Reads a number at `offset` (the JSON grammar of `JSONReader.readNumber`, with the same classification).
    @inline(__always)
    private mutating func number() -> JSONReader.Number? {
        let start = offset
        var k = offset
        let negative = byte(k) == 0x2D
        if negative { k += 1 }
        let first = k
        var mantissa: UInt64 = 0
        // Up to 18 digits cannot overflow; longer integers, fractions and exponents take the shared reader.
        while case let d = byte(k) &- 0x30, d < 10, k - first < 18 {
            mantissa = mantissa &* 10 &+ UInt64(d)
            k += 1
        }
        let digits = k - first
        let after = byte(k)
        if digits > 0 && digits < 18 && after != 0x2E && after != 0x65 && after != 0x45 && (after &- 0x30) >= 10 {
            if digits > 1 && bytes[first] == 0x30 { return nil }  // leading zero
            offset = k
            return .integer(negative ? -Int64(mantissa) : Int64(mantissa))
        }
        var reader = JSONReader(input)
        reader.offset = start
        guard let n = try? reader.readNumber() else { return nil }
        offset = reader.offset
        return n
    }

    /// Consumes the ASCII `literal` if it is next.
    @inline(__always)
    private mutating func literal(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard count - offset >= n else { return false }
        for k in 0..<n where bytes[offset + k] != literal.utf8Start[k] { return false }
        offset += n
        return true
    }

    /// Parses an object link `o:i` (decimal, at most five digits each, as `LwM2MObjectLink(parsing:)` reads it).
    @inline(__always)
    private func objectLink(_ r: Range<Int>) -> LwM2MObjectLink? {
        var ids: (UInt32, UInt32) = (0, 0)
        var k = r.lowerBound
        var part = 0
        var digits = 0
        while k < r.upperBound {
            let c = bytes[k]
            let d = c &- 0x30
            if d < 10 {
                guard digits < 5 else { return nil }
                if part == 0 { ids.0 = ids.0 * 10 + UInt32(d) } else { ids.1 = ids.1 * 10 + UInt32(d) }
                digits += 1
            } else if c == 0x3A && part == 0 && digits > 0 {
                part = 1
                digits = 0
            } else {
                return nil
            }
            k += 1
        }
        guard part == 1, digits > 0, ids.0 <= 0xFFFF, ids.1 <= 0xFFFF else { return nil }
        return LwM2MObjectLink(objectID: UInt16(ids.0), instanceID: UInt16(ids.1))
    }

    /// Whether every byte of `text` is below 0x80 (eight bytes at a time).
    @inline(__always)
    private static func isASCII(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let p = text.baseAddress else { return true }
        let raw = UnsafeRawPointer(p)
        let n = text.count
        var k = 0
        var high: UInt64 = 0
        while k + 8 <= n {
            high |= raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)
            k += 8
        }
        while k < n {
            high |= UInt64(p[k])
            k += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    /// The value a record carries, before resolution.
    private enum Value {
        case none
        case number(JSONReader.Number)
        case string(Range<Int>)
        case bool(Bool)
        case data(Range<Int>)
        case objectLink(LwM2MObjectLink)
    }

    /// Reads the pack into `sink`, resolving names and times as RFC 8428 section 4.6 says (see `SenMLResolver`).
    @inline(__always)
    mutating func read<Sink: LwM2MRecordSink>(into sink: inout Sink) -> Outcome {
        guard next() == 0x5B else { return .unsupported }
        offset += 1
        sink.reserve(min(count / 12, 1024))  // a JSON record takes at least ~12 bytes
        var baseParser = LwM2MPathTextParser()
        var hasBaseName = false
        var baseTime: Double? = nil
        var c = next()
        if c == 0x5D {
            offset += 1
        } else {
            while true {
                guard c == 0x7B else { return .unsupported }
                offset += 1
                // The record's fields; bits of `seen` as in `SenMLResolver.Fields.see`.
                var seen: UInt32 = 0
                var name: Range<Int>? = nil
                var time: Double? = nil
                var value = Value.none
                c = next()
                if c == 0x7D {
                    offset += 1
                } else {
                    while true {
                        // A key of one to three characters, without escapes.
                        guard c == 0x22 else { return .unsupported }
                        let k0 = byte(offset + 1)
                        let k1 = byte(offset + 2)
                        var key = UInt32(k0)
                        if k1 == 0x22 {
                            offset += 3
                        } else {
                            let k2 = byte(offset + 3)
                            key |= UInt32(k1) << 8
                            if k2 == 0x22 {
                                offset += 4
                            } else {
                                guard byte(offset + 4) == 0x22 else { return .unsupported }
                                key |= UInt32(k2) << 16
                                offset += 5
                            }
                        }
                        guard next() == 0x3A else { return .unsupported }
                        offset += 1
                        c = next()
                        let bit: UInt32
                        switch key {
                        case 0x6E62:  // "bn"
                            bit = 2
                            guard c == 0x22, let r = span() else { return .unsupported }
                            var parser = LwM2MPathTextParser()
                            guard parser.feed(bytes + r.lowerBound, count: r.count) else { return .unsupported }
                            baseParser = parser
                            hasBaseName = true
                        case 0x6E:  // "n"
                            bit = 16
                            guard c == 0x22, let r = span() else { return .unsupported }
                            name = r
                        case 0x76:  // "v"
                            bit = 1
                            guard let n = number() else { return .unsupported }
                            value = .number(n)
                        case 0x7376:  // "vs"
                            bit = 1
                            guard c == 0x22, let r = span() else { return .unsupported }
                            value = .string(r)
                        case 0x6276:  // "vb"
                            bit = 1
                            if c == 0x74, literal("true") {
                                value = .bool(true)
                            } else if c == 0x66, literal("false") {
                                value = .bool(false)
                            } else {
                                return .unsupported
                            }
                        case 0x6476:  // "vd"
                            bit = 1
                            guard c == 0x22, let r = span() else { return .unsupported }
                            value = .data(r)
                        case 0x6F6C76:  // "vlo"
                            bit = 1
                            guard c == 0x22, let r = span(), let link = objectLink(r) else { return .unsupported }
                            value = .objectLink(link)
                        case 0x7462:  // "bt"
                            bit = 4
                            guard let n = number() else { return .unsupported }
                            baseTime = n.double
                        case 0x74:  // "t"
                            bit = 32
                            guard let n = number() else { return .unsupported }
                            time = n.double
                        default:
                            return .unsupported
                        }
                        guard seen & bit == 0 else { return .unsupported }
                        seen |= bit
                        c = next()
                        offset += 1
                        if c == 0x7D { break }
                        guard c == 0x2C else { return .unsupported }
                        c = next()
                    }
                }
                // Resolve the record's path, time and value.
                var parser = baseParser
                if let name {
                    guard parser.feed(bytes + name.lowerBound, count: name.count) else { return .unsupported }
                } else if !hasBaseName {
                    return .unsupported
                }
                guard let path = parser.finish() else { return .unsupported }
                var timestamp: Double? = nil
                if baseTime != nil || time != nil { timestamp = (baseTime ?? 0) + (time ?? 0) }
                let resolved: LwM2MValue?
                switch value {
                case .none:
                    resolved = nil
                case .number(.integer(let i)):
                    resolved = .integer(i)
                case .number(.unsigned(let u)):
                    resolved = .unsignedInteger(u)
                case .number(.float(let d)):
                    resolved = .float(0 + d)  // as `SenMLResolver` adds the (absent) base value: -0.0 becomes 0.0
                case .string(let r):
                    // The strict reader's check (`JSONReader.isValidUTF8`), skipped for ASCII text.
                    let text = UnsafeBufferPointer(start: bytes + r.lowerBound, count: r.count)
                    guard Self.isASCII(text) || JSONReader.isValidUTF8(text) else { return .unsupported }
                    resolved = .string(String(decoding: text, as: UTF8.self))
                case .bool(let b):
                    resolved = .boolean(b)
                case .data(let r):
                    guard let d = JSONBase64.decode(.span(r.lowerBound, r.upperBound), in: input) else {
                        return .unsupported
                    }
                    resolved = .opaque(d)
                case .objectLink(let link):
                    resolved = .objectLink(link)
                }
                guard sink.add(path, resolved, timestamp: timestamp) else { return .declined }
                c = next()
                offset += 1
                if c == 0x5D { break }
                guard c == 0x2C else { return .unsupported }
                c = next()
            }
        }
        // Only whitespace may follow.
        guard next() == 0, offset == count else { return .unsupported }
        return .done
    }
}
