/// Strict UTF-8 checking (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF) without the
/// generic machinery of `String(validating:)`, with an 8-bytes-at-a-time ASCII fast path.
@usableFromInline
enum UTF8Validation {
    /// The offset of the first byte that does not start a valid sequence, or `nil` when `bytes` is valid UTF-8.
    @inlinable
    static func firstInvalid(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let n = bytes.count
        var i = 0
        while i < n {
            if i + 8 <= n && bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
            let b0 = bytes[i]
            if b0 < 0x80 {
                i += 1
            } else if b0 < 0xC2 {
                return i
            } else if b0 < 0xE0 {
                guard i + 1 < n, bytes[i + 1] & 0xC0 == 0x80 else { return i }
                i += 2
            } else if b0 < 0xF0 {
                guard i + 2 < n else { return i }
                let b1 = bytes[i + 1]
                let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
                let hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
                guard b1 >= lo, b1 <= hi, bytes[i + 2] & 0xC0 == 0x80 else { return i }
                i += 3
            } else if b0 < 0xF5 {
                guard i + 3 < n else { return i }
                let b1 = bytes[i + 1]
                let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
                let hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
                guard b1 >= lo, b1 <= hi, bytes[i + 2] & 0xC0 == 0x80, bytes[i + 3] & 0xC0 == 0x80 else { return i }
                i += 4
            } else {
                return i
            }
        }
        return nil
    }

    /// The text of `bytes`, or `nil` with nothing allocated when they are not valid UTF-8.
    @inlinable
    static func string(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard firstInvalid(bytes) == nil else { return nil }
        return String(decoding: bytes.bindMemoryAssumingUInt8(), as: UTF8.self)
    }
}
