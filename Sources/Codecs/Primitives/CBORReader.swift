/// A strict CBOR (RFC 8949) reader over a byte buffer.
///
/// It reads one data item head at a time and never traps on input: every length is checked against what is left,
/// reserved additional information (28-30), a break outside an indefinite-length item, malformed indefinite
/// strings and two-byte simple values below 32 are errors, nesting is capped at `maxDepth`, and `finish()` rejects
/// trailing bytes. Errors are `LwM2MCodecError`s carrying the offset of the offending byte.
struct CBORReader {
    /// One decoded data item head (strings are read whole).
    enum Item {
        case unsigned(UInt64)
        /// A negative integer `-1 - n`.
        case negative(UInt64)
        case bytes(WireString)
        case text(WireString)
        /// An array with its element count, `nil` for an indefinite-length array.
        case array(Int?)
        /// A map with its pair count, `nil` for an indefinite-length map.
        case map(Int?)
        case tag(UInt64)
        case bool(Bool)
        case null
        case undefined
        case float(Double)
        /// An unassigned simple value.
        case simple(UInt8)
    }

    /// The input.
    let input: UnsafeRawBufferPointer
    /// The offset of the next byte to read.
    var offset: Int
    /// The deepest nesting `skip()` follows.
    let maxDepth: Int

    /// A reader at the start of `input`.
    init(_ input: UnsafeRawBufferPointer, maxDepth: Int = 16) {
        self.input = input
        self.offset = 0
        self.maxDepth = maxDepth
    }

    /// Whether every byte has been read.
    @inline(__always) var isAtEnd: Bool { offset >= input.count }

    /// Throws `trailingBytes` unless the whole input has been read.
    func finish() throws(LwM2MCodecError) {
        if offset != input.count { throw WireError.trailing(offset) }
    }

    /// Consumes a break byte (0xFF) if it is next; for indefinite-length containers.
    @inline(__always)
    mutating func readBreak() throws(LwM2MCodecError) -> Bool {
        guard offset < input.count else { throw WireError.truncated(offset, "indefinite-length item") }
        if input[offset] == 0xFF {
            offset += 1
            return true
        }
        return false
    }

    /// Reads the argument that follows an initial byte with additional information `info` (< 28).
    @inline(__always)
    private mutating func argument(_ info: UInt8, at start: Int) throws(LwM2MCodecError) -> UInt64 {
        if info < 24 { return UInt64(info) }
        let size = 1 << Int(info - 24)  // 24...27 -> 1, 2, 4, 8
        guard input.count - offset >= size else { throw WireError.truncated(start, "CBOR head") }
        let v = bigEndian(at: offset, size: size)
        offset += size
        return v
    }

    /// Reads the next data item head; strings are read completely (indefinite ones assembled).
    mutating func next() throws(LwM2MCodecError) -> Item {
        let start = offset
        guard offset < input.count else { throw WireError.truncated(offset, "CBOR item") }
        let initial = input[offset]
        offset += 1
        let major = initial >> 5
        let info = initial & 0x1F
        if info >= 28 && info <= 30 {
            throw WireError.malformed(start, "reserved additional information \(info)")
        }
        if info == 31 {
            switch major {
            case 2, 3: return try indefiniteString(major: major, start: start)
            case 4: return .array(nil)
            case 5: return .map(nil)
            case 7: throw WireError.malformed(start, "break outside an indefinite-length item")
            default: throw WireError.malformed(start, "indefinite length for major type \(major)")
            }
        }
        switch major {
        case 0:
            return .unsigned(try argument(info, at: start))
        case 1:
            return .negative(try argument(info, at: start))
        case 2, 3:
            let length = try argument(info, at: start)
            guard length <= UInt64(input.count - offset) else { throw WireError.truncated(start, "CBOR string") }
            let s = WireString.span(offset, offset + Int(length))
            offset += Int(length)
            return major == 2 ? .bytes(s) : .text(s)
        case 4, 5:
            let count = try argument(info, at: start)
            // Every element takes at least one byte: a larger count cannot be satisfied.
            let minimum = major == 4 ? count : count &* 2
            guard count <= UInt64(Int32.max), minimum <= UInt64(input.count - offset) else {
                throw WireError.truncated(start, major == 4 ? "CBOR array" : "CBOR map")
            }
            return major == 4 ? .array(Int(count)) : .map(Int(count))
        case 6:
            return .tag(try argument(info, at: start))
        default:
            switch info {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 22: return .null
            case 23: return .undefined
            case 24:
                let v = try argument(info, at: start)
                guard v >= 32 else { throw WireError.malformed(start, "two-byte simple value below 32") }
                return .simple(UInt8(v))
            case 25:
                return .float(Self.double(fromHalf: UInt16(try argument(info, at: start))))
            case 26:
                return .float(Double(Float(bitPattern: UInt32(try argument(info, at: start)))))
            case 27:
                return .float(Double(bitPattern: try argument(info, at: start)))
            default:
                return .simple(info)
            }
        }
    }

    /// Assembles an indefinite-length string from its definite-length chunks of the same major type.
    private mutating func indefiniteString(major: UInt8, start: Int) throws(LwM2MCodecError) -> Item {
        var bytes: [UInt8] = []
        while try !readBreak() {
            let chunkStart = offset
            let initial = input[offset]
            guard initial >> 5 == major, initial & 0x1F != 31 else {
                throw WireError.malformed(chunkStart, "bad chunk in an indefinite-length string")
            }
            guard case .span(let s, let e) = try stringItem(next()) else {
                throw WireError.malformed(chunkStart, "bad chunk in an indefinite-length string")
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[s..<e]))
        }
        return major == 2 ? .bytes(.owned(bytes)) : .text(.owned(bytes))
    }

    @inline(__always)
    private func stringItem(_ item: Item) -> WireString? {
        switch item {
        case .bytes(let s), .text(let s): return s
        default: return nil
        }
    }

    /// Skips one complete data item (with everything nested in it).
    mutating func skip(depth: Int = 0) throws(LwM2MCodecError) {
        guard depth < maxDepth else { throw WireError.tooDeep(offset) }
        switch try next() {
        case .array(let count):
            if let count {
                for _ in 0..<count { try skip(depth: depth + 1) }
            } else {
                while try !readBreak() { try skip(depth: depth + 1) }
            }
        case .map(let count):
            if let count {
                for _ in 0..<count * 2 { try skip(depth: depth + 1) }
            } else {
                while try !readBreak() {
                    try skip(depth: depth + 1)
                    try skip(depth: depth + 1)
                }
            }
        case .tag:
            try skip(depth: depth + 1)
        default:
            break
        }
    }

    /// The value of IEEE 754 binary16 `bits`.
    @inline(__always)
    static func double(fromHalf bits: UInt16) -> Double {
        let negative = bits & 0x8000 != 0
        let exponent = UInt64((bits >> 10) & 0x1F)
        let mantissa = UInt64(bits & 0x3FF)
        let magnitude: Double
        if exponent == 0 {
            magnitude = Double(mantissa) * 0x1p-24  // subnormal: exact
        } else if exponent == 31 {
            magnitude = mantissa == 0 ? .infinity : .nan
        } else {
            // 2^(e-15) * (1 + m/1024): the double with biased exponent e - 15 + 1023 and m as its top fraction bits.
            magnitude = Double(bitPattern: (exponent + 1008) << 52 | mantissa << 42)
        }
        return negative ? -magnitude : magnitude
    }
}

// MARK: - Fast paths

extension CBORReader {
    /// The argument of a head of major type `major` with a definite argument (additional information below 28), or
    /// `nil` without consuming anything for any other item (the caller then reads it through `next()`, which
    /// reports the error at the same offset as always). Allocation-free: the decoders' common case.
    @inline(__always)
    mutating func fastHead(_ major: UInt8) -> UInt64? {
        guard offset < input.count else { return nil }
        let b = input[offset]
        guard b >> 5 == major else { return nil }
        let info = b & 0x1F
        if info < 24 {
            offset &+= 1
            return UInt64(info)
        }
        guard info < 28 else { return nil }
        let size = 1 << Int(info - 24)
        guard input.count - offset > size else { return nil }
        let v = bigEndian(at: offset + 1, size: size)
        offset &+= 1 + size
        return v
    }

    /// The big-endian unsigned integer of `size` bytes (1, 2, 4 or 8) at `at`, which the caller checked lie
    /// within the input: one unaligned load instead of a byte loop.
    @inline(__always)
    func bigEndian(at: Int, size: Int) -> UInt64 {
        switch size {
        case 1: return UInt64(input[at])
        case 2: return UInt64(UInt16(bigEndian: input.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        case 4: return UInt64(UInt32(bigEndian: input.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        default: return UInt64(bigEndian: input.loadUnaligned(fromByteOffset: at, as: UInt64.self))
        }
    }

    /// A definite-length string of major type `major` (2 bytes, 3 text) that fits the input: its range of the input;
    /// `nil` without consuming anything otherwise.
    @inline(__always)
    mutating func fastString(_ major: UInt8) -> (start: Int, end: Int)? {
        let start = offset
        guard let length = fastHead(major) else { return nil }
        guard length <= UInt64(input.count - offset) else {
            offset = start
            return nil
        }
        let s = offset
        offset = s + Int(length)
        return (s, offset)
    }

    /// The count of a definite-length array (`major` 4) or map (5) that passes `next()`'s checks; `nil` without
    /// consuming anything otherwise.
    @inline(__always)
    mutating func fastContainer(_ major: UInt8) -> Int? {
        let start = offset
        guard let count = fastHead(major) else { return nil }
        let minimum = major == 4 ? count : count &* 2
        guard count <= UInt64(Int32.max), minimum <= UInt64(input.count - offset) else {
            offset = start
            return nil
        }
        return Int(count)
    }

    /// An integer in the 64-bit range or a float of any width; `nil` without consuming anything for any other item
    /// (including negative integers below `Int64.min`).
    @inline(__always)
    mutating func fastNumber() -> JSONReader.Number? {
        guard offset < input.count else { return nil }
        let b = input[offset]
        if b < 0x18 {
            offset &+= 1
            return .integer(Int64(b))
        }
        switch b >> 5 {
        case 0:
            guard let u = fastHead(0) else { return nil }
            return u <= UInt64(Int64.max) ? .integer(Int64(u)) : .unsigned(u)
        case 1:
            let start = offset
            guard let n = fastHead(1) else { return nil }
            guard n <= UInt64(Int64.max) else {
                offset = start
                return nil
            }
            return .integer(-1 - Int64(n))
        case 7:
            let left = input.count - offset
            switch b {
            case 0xF9 where left > 2:
                let bits = UInt16(truncatingIfNeeded: bigEndian(at: offset + 1, size: 2))
                offset &+= 3
                return .float(Self.double(fromHalf: bits))
            case 0xFA where left > 4:
                let bits = UInt32(truncatingIfNeeded: bigEndian(at: offset + 1, size: 4))
                offset &+= 5
                return .float(Double(Float(bitPattern: bits)))
            case 0xFB where left > 8:
                let bits = bigEndian(at: offset + 1, size: 8)
                offset &+= 9
                return .float(Double(bitPattern: bits))
            default:
                return nil
            }
        default:
            return nil
        }
    }
}
