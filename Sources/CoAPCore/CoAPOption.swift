public import NIOCore

/// A CoAP option number (RFC 7252 section 5.10 and the registry), with its critical/unsafe/no-cache-key bits.
public struct CoAPOptionNumber: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The option number.
    public var rawValue: UInt16

    /// Creates an option number.
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let ifMatch = CoAPOptionNumber(rawValue: 1)
    public static let uriHost = CoAPOptionNumber(rawValue: 3)
    public static let eTag = CoAPOptionNumber(rawValue: 4)
    public static let ifNoneMatch = CoAPOptionNumber(rawValue: 5)
    /// Observe (RFC 7641).
    public static let observe = CoAPOptionNumber(rawValue: 6)
    public static let uriPort = CoAPOptionNumber(rawValue: 7)
    public static let locationPath = CoAPOptionNumber(rawValue: 8)
    public static let uriPath = CoAPOptionNumber(rawValue: 11)
    public static let contentFormat = CoAPOptionNumber(rawValue: 12)
    public static let maxAge = CoAPOptionNumber(rawValue: 14)
    public static let uriQuery = CoAPOptionNumber(rawValue: 15)
    public static let accept = CoAPOptionNumber(rawValue: 17)
    public static let locationQuery = CoAPOptionNumber(rawValue: 20)
    /// Block2 (RFC 7959).
    public static let block2 = CoAPOptionNumber(rawValue: 23)
    /// Block1 (RFC 7959).
    public static let block1 = CoAPOptionNumber(rawValue: 27)
    /// Size2 (RFC 7959).
    public static let size2 = CoAPOptionNumber(rawValue: 28)
    public static let proxyUri = CoAPOptionNumber(rawValue: 35)
    public static let proxyScheme = CoAPOptionNumber(rawValue: 39)
    /// Size1 (RFC 7252/7959).
    public static let size1 = CoAPOptionNumber(rawValue: 60)
    /// No-Response (RFC 7967).
    public static let noResponse = CoAPOptionNumber(rawValue: 258)

    /// Critical options must be understood by the receiver (odd numbers).
    @inlinable public var isCritical: Bool { rawValue & 1 != 0 }
    /// Unsafe-to-forward options (bit 1).
    @inlinable public var isUnsafe: Bool { rawValue & 2 != 0 }
    /// No-cache-key options (bits 2-4 all set).
    @inlinable public var isNoCacheKey: Bool { rawValue & 0x1E == 0x1C }

    @inlinable public static func < (lhs: CoAPOptionNumber, rhs: CoAPOptionNumber) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The format the RFCs define for this option's value, or `nil` for unknown options.
    public var format: CoAPOptionFormat? {
        switch rawValue {
        case 1, 4: return .opaque
        case 3, 8, 11, 15, 20, 35, 39: return .string
        case 5: return .empty
        case 6, 7, 12, 14, 17, 23, 27, 28, 60, 258: return .uint
        default: return nil
        }
    }

    /// The permitted value length range for known options (RFC 7252 table 4 and the extensions).
    public var lengthRange: ClosedRange<Int>? {
        switch rawValue {
        case 1: return 0...8
        case 3: return 1...255
        case 4: return 1...8
        case 5: return 0...0
        case 6: return 0...3
        case 7: return 0...2
        case 8, 11, 15, 20: return 0...255
        case 12, 17: return 0...2
        case 14: return 0...4
        case 23, 27: return 0...3
        case 28, 60: return 0...4
        case 35: return 1...1034
        case 39: return 1...255
        case 258: return 0...1
        default: return nil
        }
    }

    /// The option's name, e.g. `Uri-Path`, or its number.
    public var description: String {
        switch rawValue {
        case 1: return "If-Match"
        case 3: return "Uri-Host"
        case 4: return "ETag"
        case 5: return "If-None-Match"
        case 6: return "Observe"
        case 7: return "Uri-Port"
        case 8: return "Location-Path"
        case 11: return "Uri-Path"
        case 12: return "Content-Format"
        case 14: return "Max-Age"
        case 15: return "Uri-Query"
        case 17: return "Accept"
        case 20: return "Location-Query"
        case 23: return "Block2"
        case 27: return "Block1"
        case 28: return "Size2"
        case 35: return "Proxy-Uri"
        case 39: return "Proxy-Scheme"
        case 60: return "Size1"
        case 258: return "No-Response"
        default: return "Option \(rawValue)"
        }
    }
}

/// The value formats of CoAP options (RFC 7252 section 3.2).
public enum CoAPOptionFormat: Sendable, Hashable {
    /// Zero-length.
    case empty
    /// Raw bytes.
    case opaque
    /// Unsigned integer in network byte order, shortest form.
    case uint
    /// UTF-8 text.
    case string
}

/// One option: its number and raw value. Decoded options share the datagram's storage (no copy).
public struct CoAPOption: Hashable, Sendable {
    /// The option number.
    public var number: CoAPOptionNumber
    /// The raw value bytes.
    public var value: ByteBuffer

    /// Creates an option with a raw value.
    @inlinable public init(number: CoAPOptionNumber, value: ByteBuffer) {
        self.number = number
        self.value = value
    }

    /// Creates an empty option.
    public init(number: CoAPOptionNumber) {
        self.init(number: number, value: ByteBuffer())
    }

    /// Creates an option holding a UTF-8 string.
    public init(number: CoAPOptionNumber, string: String) {
        self.init(number: number, value: ByteBuffer(string: string))
    }

    /// Creates an option holding bytes.
    public init(number: CoAPOptionNumber, bytes: some Collection<UInt8>) {
        self.init(number: number, value: ByteBuffer(bytes: bytes))
    }

    /// Creates an option holding an unsigned integer in its shortest form (0 is the empty value).
    public init(number: CoAPOptionNumber, uint: UInt32) {
        var buffer = ByteBuffer()
        let bytes = (32 - uint.leadingZeroBitCount + 7) / 8
        buffer.reserveCapacity(bytes)
        for k in stride(from: bytes - 1, through: 0, by: -1) {
            buffer.writeInteger(UInt8(truncatingIfNeeded: uint >> (8 * UInt32(k))))
        }
        self.init(number: number, value: buffer)
    }

    /// The value as an unsigned integer (up to 4 bytes; leading zeros accepted), or `nil` if longer.
    @inlinable public var uintValue: UInt32? {
        let n = value.readableBytes
        guard n <= 4 else { return nil }
        var result: UInt32 = 0
        var index = value.readerIndex
        for _ in 0..<n {
            result = result << 8 | UInt32(value.getInteger(at: index, as: UInt8.self)!)
            index += 1
        }
        return result
    }

    /// The value as UTF-8 text (invalid sequences repaired).
    public var stringValue: String {
        value.getString(at: value.readerIndex, length: value.readableBytes) ?? ""
    }

    /// The value's bytes.
    public var bytesValue: [UInt8] {
        value.getBytes(at: value.readerIndex, length: value.readableBytes) ?? []
    }
}
