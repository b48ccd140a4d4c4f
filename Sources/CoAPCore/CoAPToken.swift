/// A CoAP token: 0 to 8 opaque bytes, stored inline (no allocation).
public struct CoAPToken: Hashable, Sendable, CustomStringConvertible {
    /// The token bytes packed big-endian into the low `length` bytes.
    public internal(set) var storage: UInt64
    /// The number of bytes, 0...8.
    public internal(set) var length: UInt8

    /// The empty token.
    public static let empty = CoAPToken(storage: 0, length: 0)

    @usableFromInline init(storage: UInt64, length: UInt8) {
        self.storage = storage
        self.length = length
    }

    /// Creates a token from up to 8 bytes; returns `nil` for longer input.
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count <= 8 else { return nil }
        var s: UInt64 = 0
        for b in bytes { s = s << 8 | UInt64(b) }
        self.init(storage: s, length: UInt8(bytes.count))
    }

    /// Creates an `length`-byte token from the low bytes of `value`.
    public init(value: UInt64, length: Int = 8) {
        precondition((0...8).contains(length), "a CoAP token has 0 to 8 bytes")
        let mask: UInt64 = length == 8 ? .max : (UInt64(1) << (8 * UInt64(length))) - 1
        self.init(storage: value & mask, length: UInt8(length))
    }

    /// The token's bytes.
    public var bytes: [UInt8] {
        (0..<Int(length)).map { k in UInt8(truncatingIfNeeded: storage >> (8 * UInt64(Int(length) - 1 - k))) }
    }

    /// Lowercase hex, e.g. `"4a2f"`; empty tokens print as `""`.
    public var description: String {
        bytes.map { b in
            let s = String(b, radix: 16)
            return b < 16 ? "0" + s : s
        }.joined()
    }
}
