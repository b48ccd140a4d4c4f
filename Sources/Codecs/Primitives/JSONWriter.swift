/// Writes JSON (RFC 8259) tokens through a `ByteCursor`.
enum JSONWriter {
    /// The most bytes `int`, `uint` or `double` write.
    static let maxNumberLength = 32

    /// The most bytes `string` writes for `utf8Count` bytes of text (every byte a `\u00XX` escape).
    @inline(__always)
    static func maxStringLength(_ utf8Count: Int) -> Int { 2 + 6 * utf8Count }

    /// Appends ASCII literal bytes (punctuation, keys written with their quotes).
    @inline(__always)
    static func raw(_ literal: StaticString, into out: inout ByteCursor) {
        out.append(literal)
    }

    /// A quoted, escaped string.
    @inline(__always)
    static func string(_ value: String, into out: inout ByteCursor) {
        // Native strings lend their bytes without a copy; others are made contiguous first.
        if value.utf8.withContiguousStorageIfAvailable({ utf8 in string(utf8, into: &out) }) != nil { return }
        var s = value
        s.withUTF8 { utf8 in string(utf8, into: &out) }
    }

    /// Whether any of the eight bytes of `word` must be escaped (below 0x20, `"` or `\`): the exact "has a byte
    /// less than n" and "has a zero byte" word tests.
    @inline(__always)
    private static func needsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let control = (word &- ones &* 0x20) & ~word
        let quoteZero = (quote &- ones) & ~quote
        let backslashZero = (backslash &- ones) & ~backslash
        return (control | quoteZero | backslashZero) & highs != 0
    }

    /// A quoted, escaped string from UTF-8 bytes.
    @inline(__always)
    static func string(_ utf8: UnsafeBufferPointer<UInt8>, into out: inout ByteCursor) {
        out.append(0x22)
        var runStart = 0
        var k = 0
        let n = utf8.count
        // Skip eight plain bytes at a time; the byte loop below takes the word that needs an escape and the tail.
        if let p = utf8.baseAddress {
            let raw = UnsafeRawPointer(p)
            while k + 8 <= n && !needsEscape(raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)) { k += 8 }
        }
        while k < n {
            let c = utf8[k]
            if c >= 0x20 && c != 0x22 && c != 0x5C {
                k += 1
                continue
            }
            if runStart < k { out.append(UnsafeBufferPointer(rebasing: utf8[runStart..<k])) }
            out.append(0x5C)
            switch c {
            case 0x22, 0x5C: out.append(c)
            case 0x0A: out.append(0x6E)
            case 0x0D: out.append(0x72)
            case 0x09: out.append(0x74)
            case 0x08: out.append(0x62)
            case 0x0C: out.append(0x66)
            default:
                out.append(0x75)
                out.append(0x30)
                out.append(0x30)
                out.append(hexDigit(c >> 4))
                out.append(hexDigit(c & 0xF))
            }
            k += 1
            runStart = k
        }
        if runStart < n { out.append(UnsafeBufferPointer(rebasing: utf8[runStart..<n])) }
        out.append(0x22)
    }

    @inline(__always)
    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x61 + v - 10 }

    /// An unsigned decimal number.
    @inline(__always)
    static func uint(_ value: UInt64, into out: inout ByteCursor) {
        out.appendDecimal(value)
    }

    /// A signed decimal number.
    @inline(__always)
    static func int(_ value: Int64, into out: inout ByteCursor) {
        out.appendDecimal(value.magnitude, negative: value < 0)
    }

    /// A finite double in its shortest round-trip form (`25.5`, `1e+20`); integral values keep a `.0`.
    /// Returns `false` (writing nothing) for NaN and infinities, which JSON cannot carry.
    @inline(__always)
    static func double(_ value: Double, into out: inout ByteCursor) -> Bool {
        guard value.isFinite else { return false }
        if let i = Int64(exactly: value), i.magnitude < 1 << 53 {
            if value == 0 && value.sign == .minus { out.append(0x2D) }
            int(i, into: &out)
            raw(".0", into: &out)
            return true
        }
        out.append(value.description)
        return true
    }
}
