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
    static func string(_ value: borrowing String, into out: inout ByteCursor) {
        // Native strings lend their bytes in place (small ones from a stack copy); others are made contiguous out
        // of line.
        if value.utf8.withContiguousStorageIfAvailable({ utf8 in string(utf8, into: &out) }) == nil {
            nonContiguousString(copy value, into: &out)
        }
    }

    @inline(never)
    private static func nonContiguousString(_ value: String, into out: inout ByteCursor) {
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
    ///
    /// Eight plain bytes are checked and copied as one word; a word that holds a byte to escape, and the tail, go
    /// byte by byte. Bytes are copied by loads and stores, not a memory-copy call (see `ByteCursor.append(_:)` of a
    /// literal).
    @inline(__always)
    static func string(_ utf8: UnsafeBufferPointer<UInt8>, into out: inout ByteCursor) {
        out.append(0x22)
        let n = utf8.count
        if let p = utf8.baseAddress {
            let raw = UnsafeRawPointer(p)
            var k = 0
            while k < n {
                if k &+ 8 <= n {
                    let word = raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                    if !needsEscape(word) {
                        out.appendWord(word)
                        k &+= 8
                        continue
                    }
                }
                let c = p[k]
                if c >= 0x20 && c != 0x22 && c != 0x5C {
                    out.append(c)
                } else {
                    // A pure function: a call that writes memory here would make callers copy the value they write.
                    var (escape, length) = escapeBytes(c)
                    while length > 0 {
                        out.append(UInt8(truncatingIfNeeded: escape))
                        escape >>= 8
                        length &-= 1
                    }
                }
                k &+= 1
            }
        }
        out.append(0x22)
    }

    /// The escape of a byte below 0x20, `"` or `\\`: its bytes, first in the low byte, and how many (2 or 6).
    @inline(never)
    private static func escapeBytes(_ c: UInt8) -> (UInt64, Int) {
        let second: UInt8
        switch c {
        case 0x22, 0x5C: second = c
        case 0x0A: second = 0x6E
        case 0x0D: second = 0x72
        case 0x09: second = 0x74
        case 0x08: second = 0x62
        case 0x0C: second = 0x66
        default:
            // \u00XX
            return (
                0x5C | 0x75 << 8 | 0x30 << 16 | 0x30 << 24 | UInt64(hexDigit(c >> 4)) << 32
                    | UInt64(hexDigit(c & 0xF)) << 40, 6)
        }
        return (0x5C | UInt64(second) << 8, 2)
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
        out.appendText(value.description)
        return true
    }
}
