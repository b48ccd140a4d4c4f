import NIOCore

/// The value of a Block1 or Block2 option (RFC 7959 section 2.2): block number NUM, more flag M and size
/// exponent SZX, the block size being `2^(SZX + 4)` bytes (16 to 1024).
public struct CoAPBlockOption: Hashable, Sendable, CustomStringConvertible {
    /// The largest block number a 3-byte option can carry.
    public static let maxNumber: UInt32 = (1 << 20) - 1
    /// The smallest block size (SZX 0).
    public static let minSize = 16
    /// The largest block size (SZX 6).
    public static let maxSize = 1024

    /// The block number NUM (0 ... 2^20 - 1).
    public private(set) var number: UInt32
    /// The M bit: more blocks follow (descriptive use) or the server holds state (control use in Block1).
    public var more: Bool
    /// The size exponent SZX (0 ... 6).
    public private(set) var szx: UInt8

    /// Creates a block option; throws for a number past 2^20 - 1 or SZX 7 or higher.
    public init(number: UInt32, more: Bool, szx: UInt8) throws(CoAPBlockError) {
        guard szx < 7 else {
            throw CoAPBlockError(code: .reservedSZX, reason: "SZX \(szx) is reserved (0 to 6 allowed)")
        }
        guard number <= Self.maxNumber else {
            throw CoAPBlockError(code: .invalidValue, reason: "block number \(number) exceeds 2^20 - 1")
        }
        self.number = number
        self.more = more
        self.szx = szx
    }

    /// Creates a block option from a block size (a power of two in 16 ... 1024).
    public init(number: UInt32, more: Bool, size: Int) throws(CoAPBlockError) {
        guard let szx = Self.szx(forSize: size) else {
            throw CoAPBlockError(code: .invalidValue, reason: "block size \(size) is not a power of two in 16...1024")
        }
        try self.init(number: number, more: more, szx: szx)
    }

    /// Decodes the option's unsigned-integer value (`NUM << 4 | M << 3 | SZX`).
    public init(uint value: UInt32) throws(CoAPBlockError) {
        try self.init(number: value >> 4, more: value & 0x8 != 0, szx: UInt8(value & 0x7))
    }

    /// Decodes a Block1/Block2 option; throws for values longer than 3 bytes or SZX 7.
    public init(option: CoAPOption) throws(CoAPBlockError) {
        guard option.value.readableBytes <= 3, let value = option.uintValue else {
            throw CoAPBlockError(
                code: .invalidOptionLength, reason: "a Block option has 0 to 3 bytes, got \(option.value.readableBytes)",
                option: option.number)
        }
        do {
            try self.init(uint: value)
        } catch {
            var e = error
            e.option = option.number
            throw e
        }
    }

    /// The SZX for a block size, or `nil` when `size` is not a power of two in 16 ... 1024.
    public static func szx(forSize size: Int) -> UInt8? {
        guard size >= minSize, size <= maxSize, size & (size - 1) == 0 else { return nil }
        return UInt8(size.trailingZeroBitCount - 4)
    }

    /// The largest valid block size not above `size` (clamped to 16 ... 1024).
    public static func blockSize(atMost size: Int) -> Int {
        guard size >= maxSize else {
            guard size > minSize else { return minSize }
            return 1 << (Int.bitWidth - 1 - size.leadingZeroBitCount)
        }
        return maxSize
    }

    /// The block size in bytes (16 ... 1024).
    @inlinable public var size: Int { 16 << Int(szx) }

    /// The byte offset of this block in the body (`NUM * size`).
    @inlinable public var offset: Int { Int(number) * size }

    /// The unsigned-integer value carried on the wire.
    @inlinable public var uintValue: UInt32 { number << 4 | (more ? 0x8 : 0) | UInt32(szx) }

    /// The option carrying this value under `number` (`.block1` or `.block2`).
    public func option(_ number: CoAPOptionNumber) -> CoAPOption {
        CoAPOption(number: number, uint: uintValue)
    }

    /// `NUM/M/SIZE`, e.g. `2/1/64`, the notation RFC 7959 uses.
    public var description: String { "\(number)/\(more ? 1 : 0)/\(size)" }
}

extension CoAPMessage {
    /// The Block1 option, `nil` when absent; throws when present but malformed.
    public func block1() throws(CoAPBlockError) -> CoAPBlockOption? {
        guard let o = option(.block1) else { return nil }
        return try CoAPBlockOption(option: o)
    }

    /// The Block2 option, `nil` when absent; throws when present but malformed.
    public func block2() throws(CoAPBlockError) -> CoAPBlockOption? {
        guard let o = option(.block2) else { return nil }
        return try CoAPBlockOption(option: o)
    }

    /// Sets (or with `nil` removes) the Block1 option.
    public mutating func setBlock1(_ block: CoAPBlockOption?) {
        setOption(.block1, block?.option(.block1))
    }

    /// Sets (or with `nil` removes) the Block2 option.
    public mutating func setBlock2(_ block: CoAPBlockOption?) {
        setOption(.block2, block?.option(.block2))
    }

    /// The Size1 option (RFC 7959 section 4): the request body's size, or in a 4.13 the largest accepted.
    public var size1: UInt32? {
        get { option(.size1)?.uintValue }
        set { setOption(.size1, newValue.map { CoAPOption(number: .size1, uint: $0) }) }
    }

    /// The Size2 option (RFC 7959 section 4): 0 in a request asks for the size; a response gives it.
    public var size2: UInt32? {
        get { option(.size2)?.uintValue }
        set { setOption(.size2, newValue.map { CoAPOption(number: .size2, uint: $0) }) }
    }

    /// The first ETag option's bytes, if any.
    public var eTag: [UInt8]? {
        get { option(.eTag)?.bytesValue }
        set { setOption(.eTag, newValue.map { CoAPOption(number: .eTag, bytes: $0) }) }
    }
}
