/// RFC 4648 base64 (section 4, standard alphabet) for opaque values in text formats: a strict decoder that
/// reports the offset of a bad character; encoding is `JSONBase64`'s.
@usableFromInline
enum Base64 {
    /// Appends `bytes` in base64 with `=` padding (the one encoder, shared with the JSON formats).
    @usableFromInline
    static func encode(_ bytes: [UInt8], into out: inout [UInt8]) {
        out.reserveCapacity(out.count + (bytes.count + 2) / 3 * 4)
        JSONBase64.encode(bytes, urlSafe: false, padding: true, into: &out)
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
