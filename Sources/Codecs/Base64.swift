/// RFC 4648 base64 (section 4, standard alphabet) for opaque values in text formats.
@usableFromInline
enum Base64 {
    @usableFromInline
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Appends `bytes` in base64 with `=` padding.
    @usableFromInline
    static func encode(_ bytes: [UInt8], into out: inout [UInt8]) {
        out.reserveCapacity(out.count + (bytes.count + 2) / 3 * 4)
        alphabet.withUnsafeBufferPointer { a in
            var i = 0
            let n = bytes.count
            while i + 3 <= n {
                let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                out.append(a[Int(v >> 18 & 63)])
                out.append(a[Int(v >> 12 & 63)])
                out.append(a[Int(v >> 6 & 63)])
                out.append(a[Int(v & 63)])
                i += 3
            }
            if n - i == 1 {
                let v = UInt32(bytes[i]) << 16
                out.append(a[Int(v >> 18 & 63)])
                out.append(a[Int(v >> 12 & 63)])
                out.append(UInt8(ascii: "="))
                out.append(UInt8(ascii: "="))
            } else if n - i == 2 {
                let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
                out.append(a[Int(v >> 18 & 63)])
                out.append(a[Int(v >> 12 & 63)])
                out.append(a[Int(v >> 6 & 63)])
                out.append(UInt8(ascii: "="))
            }
        }
    }

    @inline(__always)
    static func sextet(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(c - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(c - UInt8(ascii: "a") + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0") + 52)
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }

    /// Decodes base64, padded or not; rejects other characters, misplaced padding and non-zero pad bits.
    @usableFromInline
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(LwM2MCodecError) -> [UInt8] {
        var n = bytes.count
        // Strip up to two '=' when the length is a multiple of 4.
        if n % 4 == 0 && n > 0 && bytes[n - 1] == UInt8(ascii: "=") {
            n -= 1
            if bytes[n - 1] == UInt8(ascii: "=") { n -= 1 }
        }
        guard n % 4 != 1 else {
            throw LwM2MCodecError(code: .malformed, reason: "base64 length is impossible", offset: n - 1)
        }
        var out: [UInt8] = []
        out.reserveCapacity(n * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for i in 0..<n {
            guard let s = sextet(bytes[i]) else {
                throw LwM2MCodecError(code: .malformed, reason: "not a base64 character", offset: i)
            }
            acc = acc << 6 | s
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
                acc &= (1 << UInt32(bits)) - 1
            }
        }
        guard acc == 0 else {
            throw LwM2MCodecError(code: .malformed, reason: "base64 pad bits are not zero", offset: n - 1)
        }
        return out
    }
}
