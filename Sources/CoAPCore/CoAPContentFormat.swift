/// A CoAP Content-Format / Accept number (the IANA CoAP Content-Formats registry), with the ones LwM2M uses.
public struct CoAPContentFormat: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The registered number.
    public var rawValue: UInt16

    /// Creates a content format from its number.
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// `text/plain;charset=utf-8` (0).
    public static let textPlain = CoAPContentFormat(rawValue: 0)
    /// `application/link-format` (40).
    public static let linkFormat = CoAPContentFormat(rawValue: 40)
    /// `application/octet-stream` (42).
    public static let octetStream = CoAPContentFormat(rawValue: 42)
    /// `application/json` (50).
    public static let json = CoAPContentFormat(rawValue: 50)
    /// `application/cbor` (60).
    public static let cbor = CoAPContentFormat(rawValue: 60)
    /// `application/senml+json` (110).
    public static let senmlJSON = CoAPContentFormat(rawValue: 110)
    /// `application/senml+cbor` (112).
    public static let senmlCBOR = CoAPContentFormat(rawValue: 112)
    /// `application/vnd.oma.lwm2m+tlv` (11542).
    public static let lwm2mTLV = CoAPContentFormat(rawValue: 11542)
    /// `application/vnd.oma.lwm2m+json` (11543).
    public static let lwm2mJSON = CoAPContentFormat(rawValue: 11543)
    /// `application/vnd.oma.lwm2m+cbor` (11544, LwM2M 1.2).
    public static let lwm2mCBOR = CoAPContentFormat(rawValue: 11544)
    /// LwM2M 1.0 legacy number for plain text (1541).
    public static let legacyTextPlain = CoAPContentFormat(rawValue: 1541)
    /// LwM2M 1.0 legacy number for TLV (1542).
    public static let legacyTLV = CoAPContentFormat(rawValue: 1542)
    /// LwM2M 1.0 legacy number for LwM2M JSON (1543).
    public static let legacyJSON = CoAPContentFormat(rawValue: 1543)
    /// LwM2M 1.0 legacy number for opaque (1544).
    public static let legacyOpaque = CoAPContentFormat(rawValue: 1544)

    /// The format this number stands for with legacy LwM2M 1.0 numbers mapped to the registered ones.
    @inlinable public var canonical: CoAPContentFormat {
        switch rawValue {
        case 1541: return .textPlain
        case 1542: return .lwm2mTLV
        case 1543: return .lwm2mJSON
        case 1544: return .octetStream
        default: return self
        }
    }

    /// The media type, e.g. `application/vnd.oma.lwm2m+tlv`, or the number for unknown formats.
    public var description: String {
        switch canonical.rawValue {
        case 0: return "text/plain"
        case 40: return "application/link-format"
        case 42: return "application/octet-stream"
        case 50: return "application/json"
        case 60: return "application/cbor"
        case 110: return "application/senml+json"
        case 112: return "application/senml+cbor"
        case 11542: return "application/vnd.oma.lwm2m+tlv"
        case 11543: return "application/vnd.oma.lwm2m+json"
        case 11544: return "application/vnd.oma.lwm2m+cbor"
        default: return "content-format \(rawValue)"
        }
    }
}
