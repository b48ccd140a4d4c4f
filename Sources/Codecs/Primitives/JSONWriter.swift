/// Appends JSON (RFC 8259) tokens to a byte array.
enum JSONWriter {
    /// Appends ASCII literal bytes (punctuation, keys written with their quotes).
    @inline(__always)
    static func raw(_ literal: StaticString, into out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// A quoted, escaped string.
    static func string(_ value: String, into out: inout [UInt8]) {
        var s = value
        s.withUTF8 { utf8 in string(utf8, into: &out) }
    }

    /// A quoted, escaped string from UTF-8 bytes.
    @inline(__always)
    static func string(_ utf8: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        out.append(0x22)
        var runStart = 0
        var k = 0
        let n = utf8.count
        while k < n {
            let c = utf8[k]
            if c >= 0x20 && c != 0x22 && c != 0x5C {
                k += 1
                continue
            }
            if runStart < k { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<k])) }
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
        if runStart < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<n])) }
        out.append(0x22)
    }

    @inline(__always)
    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x61 + v - 10 }

    /// An unsigned decimal number.
    @inline(__always)
    static func uint(_ value: UInt64, into out: inout [UInt8]) {
        if value < 10 {
            out.append(0x30 + UInt8(value))
            return
        }
        // At most 20 digits, written backwards into a small stack buffer.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var v = value
            var k = 20
            while v > 0 {
                k -= 1
                buffer[k] = 0x30 + UInt8(v % 10)
                v /= 10
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[k..<20]))
        }
    }

    /// A signed decimal number.
    @inline(__always)
    static func int(_ value: Int64, into out: inout [UInt8]) {
        if value < 0 {
            out.append(0x2D)
            uint(value.magnitude, into: &out)
        } else {
            uint(UInt64(value), into: &out)
        }
    }

    /// A finite double in its shortest round-trip form (`25.5`, `1e+20`); integral values keep a `.0`.
    /// Returns `false` (writing nothing) for NaN and infinities, which JSON cannot carry.
    @inline(__always)
    static func double(_ value: Double, into out: inout [UInt8]) -> Bool {
        guard value.isFinite else { return false }
        if let i = Int64(exactly: value), i.magnitude < 1 << 53 {
            int(i, into: &out)
            if value == 0 && value.sign == .minus { out.insert(0x2D, at: out.count - 1) }
            raw(".0", into: &out)
            return true
        }
        var text = value.description
        text.withUTF8 { out.append(contentsOf: $0) }
        return true
    }
}
