/// Base64 (RFC 4648) for opaque values inside JSON formats: SenML JSON's `vd` (URL-safe alphabet, no padding,
/// RFC 8428 section 4.3) and LwM2M JSON's `sv` for Opaque resources (standard alphabet with padding).
enum JSONBase64 {
    private static let standard: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    private static let urlSafe: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    /// The length of the encoding of `count` bytes.
    @inline(__always)
    static func encodedLength(_ count: Int, padding: Bool) -> Int {
        padding ? (count + 2) / 3 * 4 : (count * 4 + 2) / 3
    }

    /// Appends the encoding of `bytes` (without quotes).
    static func encode(_ bytes: [UInt8], urlSafe: Bool, padding: Bool, into out: inout [UInt8]) {
        out.appendBounded(encodedLength(bytes.count, padding: padding)) { (c: inout ByteCursor) in
            encode(bytes, urlSafe: urlSafe, padding: padding, into: &c)
        }
    }

    /// Writes the encoding of `bytes` (without quotes; `encodedLength` bytes).
    static func encode(_ bytes: [UInt8], urlSafe: Bool, padding: Bool, into out: inout ByteCursor) {
        let alphabet = (urlSafe ? Self.urlSafe : Self.standard).utf8Start
        var k = 0
        let n = bytes.count
        while k + 3 <= n {
            let v = UInt32(bytes[k]) << 16 | UInt32(bytes[k + 1]) << 8 | UInt32(bytes[k + 2])
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int((v >> 12) & 63)])
            out.append(alphabet[Int((v >> 6) & 63)])
            out.append(alphabet[Int(v & 63)])
            k += 3
        }
        let rest = n - k
        if rest == 1 {
            let v = UInt32(bytes[k]) << 16
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int((v >> 12) & 63)])
            if padding { out.append(0x3D); out.append(0x3D) }
        } else if rest == 2 {
            let v = UInt32(bytes[k]) << 16 | UInt32(bytes[k + 1]) << 8
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int((v >> 12) & 63)])
            out.append(alphabet[Int((v >> 6) & 63)])
            if padding { out.append(0x3D) }
        }
    }

    @inline(__always)
    private static func sextet(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x41...0x5A: return UInt32(c - 0x41)
        case 0x61...0x7A: return UInt32(c - 0x61 + 26)
        case 0x30...0x39: return UInt32(c - 0x30 + 52)
        case 0x2B, 0x2D: return 62
        case 0x2F, 0x5F: return 63
        default: return nil
        }
    }

    /// Decodes either alphabet, with or without padding; `nil` for anything else (bad characters, a dangling
    /// sextet, non-zero unused bits, padding in the middle).
    static func decode(_ text: WireString, in input: UnsafeRawBufferPointer) -> [UInt8]? {
        var chars: [UInt8] = []
        switch text {
        case .span(let s, let e): chars = [UInt8](UnsafeRawBufferPointer(rebasing: input[s..<e]))
        case .owned(let a): chars = a
        }
        var n = chars.count
        if n % 4 == 0 && n > 0 {
            if chars[n - 1] == 0x3D { n -= 1 }
            if chars[n - 1] == 0x3D { n -= 1 }
        }
        if n % 4 == 1 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(n * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for k in 0..<n {
            guard let v = sextet(chars[k]) else { return nil }
            acc = acc << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
                acc &= (1 << UInt32(bits)) - 1
            }
        }
        // Leftover bits must be zero (canonical encoding).
        if acc != 0 { return nil }
        return out
    }
}
