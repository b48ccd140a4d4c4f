/// Writes CBOR (RFC 8949) data items through a `ByteCursor`, in preferred serialization: the shortest argument
/// encoding and the shortest floating-point form that keeps the value exact (half, else single, else double).
///
/// Containers are written with definite lengths; the caller announces the count with `arrayHeader`/`mapHeader`.
enum CBORWriter {
    /// The major types.
    static let unsigned: UInt8 = 0
    static let negative: UInt8 = 1
    static let byteString: UInt8 = 2
    static let textString: UInt8 = 3
    static let array: UInt8 = 4
    static let map: UInt8 = 5
    static let tag: UInt8 = 6

    /// The most bytes a head takes.
    static let maxHeadSize = 9

    /// A head: major type and argument in its shortest form (at most `maxHeadSize` bytes).
    @inline(__always)
    static func head(_ major: UInt8, _ value: UInt64, into out: inout ByteCursor) {
        let m = major << 5
        if value < 24 {
            out.append(m | UInt8(truncatingIfNeeded: value))
        } else if value <= 0xFF {
            out.append(m | 24)
            out.append(UInt8(truncatingIfNeeded: value))
        } else if value <= 0xFFFF {
            out.append(m | 25)
            out.appendBigEndian(value, size: 2)
        } else if value <= 0xFFFF_FFFF {
            out.append(m | 26)
            out.appendBigEndian(value, size: 4)
        } else {
            out.append(m | 27)
            out.appendBigEndian(value, size: 8)
        }
    }

    /// A head appended straight to an array (one append for the initial byte and its argument): for encoders of a
    /// single small item, which need no bound reserved first.
    @inline(__always)
    static func head(_ major: UInt8, _ value: UInt64, to out: inout [UInt8]) {
        let m = major << 5
        if value < 24 {
            out.append(m | UInt8(truncatingIfNeeded: value))
            return
        }
        let info: UInt8
        let size: Int
        if value <= 0xFF {
            (info, size) = (24, 1)
        } else if value <= 0xFFFF {
            (info, size) = (25, 2)
        } else if value <= 0xFFFF_FFFF {
            (info, size) = (26, 4)
        } else {
            (info, size) = (27, 8)
        }
        var buffer: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &buffer) { raw in
            raw[0] = m | info
            raw.storeBytes(of: (value << UInt64(64 - 8 * size)).bigEndian, toByteOffset: 1, as: UInt64.self)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[0..<(1 + size)]))
        }
    }

    /// A signed integer (major type 0 or 1).
    @inline(__always)
    static func int(_ value: Int64, into out: inout ByteCursor) {
        if value >= 0 {
            head(unsigned, UInt64(value), into: &out)
        } else {
            head(negative, UInt64(bitPattern: ~value), into: &out)  // -1 - value
        }
    }

    /// An unsigned integer (major type 0).
    @inline(__always)
    static func uint(_ value: UInt64, into out: inout ByteCursor) {
        head(unsigned, value, into: &out)
    }

    /// A text string (`maxHeadSize` + its UTF-8 length).
    @inline(__always)
    static func text(_ value: String, into out: inout ByteCursor) {
        var s = value
        s.withUTF8 { utf8 in
            head(textString, UInt64(utf8.count), into: &out)
            out.append(utf8)
        }
    }

    /// A text string from ASCII literal bytes.
    @inline(__always)
    static func text(_ literal: StaticString, into out: inout ByteCursor) {
        head(textString, UInt64(literal.utf8CodeUnitCount), into: &out)
        out.append(literal)
    }

    /// A byte string (`maxHeadSize` + its length).
    @inline(__always)
    static func bytes(_ value: [UInt8], into out: inout ByteCursor) {
        head(byteString, UInt64(value.count), into: &out)
        out.append(value)
    }

    /// `true` or `false`.
    @inline(__always)
    static func bool(_ value: Bool, into out: inout ByteCursor) {
        out.append(value ? 0xF5 : 0xF4)
    }

    /// `null`.
    @inline(__always)
    static func null(into out: inout ByteCursor) {
        out.append(0xF6)
    }

    /// An array header with `count` elements to follow.
    @inline(__always)
    static func arrayHeader(_ count: Int, into out: inout ByteCursor) {
        head(array, UInt64(count), into: &out)
    }

    /// A map header with `count` pairs to follow.
    @inline(__always)
    static func mapHeader(_ count: Int, into out: inout ByteCursor) {
        head(map, UInt64(count), into: &out)
    }

    /// A floating-point number in the shortest form that is exact: half, single or double precision (at most
    /// 9 bytes). NaN is written as the canonical half-precision quiet NaN.
    static func float(_ value: Double, into out: inout ByteCursor) {
        if value.isNaN {
            out.append(0xF9)
            out.appendBigEndian(0x7E00, size: 2)
            return
        }
        // Most values that fit half precision are found from the double's bits, without converting to Float.
        if let half = halfBits(exactly: value) {
            out.append(0xF9)
            out.appendBigEndian(UInt64(half), size: 2)
            return
        }
        let single = Float(value)
        if Double(single) == value {
            if let half = halfBits(exactly: single) {
                out.append(0xF9)
                out.appendBigEndian(UInt64(half), size: 2)
                return
            }
            out.append(0xFA)
            out.appendBigEndian(UInt64(single.bitPattern), size: 4)
            return
        }
        out.append(0xFB)
        out.appendBigEndian(value.bitPattern, size: 8)
    }

    /// The IEEE 754 binary16 bits of the normal, zero or infinite `value` when half precision holds it exactly and
    /// normal (or zero, or infinite), else `nil` (half-precision subnormals are left to `halfBits(exactly: Float)`).
    @inline(__always)
    static func halfBits(exactly value: Double) -> UInt16? {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: bits >> 48) & 0x8000
        let exponent = Int((bits >> 52) & 0x7FF)
        let mantissa = bits & 0xF_FFFF_FFFF_FFFF
        if exponent == 0 && mantissa == 0 { return sign }
        if exponent == 0x7FF { return mantissa == 0 ? sign | 0x7C00 : nil }
        let unbiased = exponent - 1023
        guard unbiased >= -14 && unbiased <= 15, mantissa & 0x3FF_FFFF_FFFF == 0 else { return nil }
        return sign | UInt16(unbiased + 15) << 10 | UInt16(truncatingIfNeeded: mantissa >> 42)
    }

    /// The IEEE 754 binary16 bits of `value` when it is exactly representable in half precision, else `nil`.
    static func halfBits(exactly value: Float) -> UInt16? {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {
            // Infinity (NaN is handled by the caller).
            return mantissa == 0 ? sign | 0x7C00 : nil
        }
        if exponent == 0 {
            // Zero; single-precision subnormals are far below the half range.
            return mantissa == 0 ? sign : nil
        }
        let unbiased = exponent - 127
        if unbiased >= -14 && unbiased <= 15 {
            guard mantissa & 0x1FFF == 0 else { return nil }
            return sign | UInt16(unbiased + 15) << 10 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        if unbiased >= -24 && unbiased < -14 {
            // A half-precision subnormal: value = m * 2^-24 with m < 1024.
            let significand = mantissa | 0x80_0000
            let shift = UInt32(-(unbiased + 1))
            guard significand & ((1 << shift) - 1) == 0 else { return nil }
            return sign | UInt16(truncatingIfNeeded: significand >> shift)
        }
        return nil
    }
}
