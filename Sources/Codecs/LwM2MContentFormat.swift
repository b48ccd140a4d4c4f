/// The content formats LwM2M payloads use, by their CoAP Content-Format number.
public enum LwM2MContentFormat: UInt16, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `text/plain` (0): one value.
    case textPlain = 0
    /// `application/link-format` (40).
    case linkFormat = 40
    /// `application/octet-stream` (42): one opaque value.
    case opaque = 42
    /// `application/cbor` (60): one value.
    case cbor = 60
    /// `application/senml+json` (110).
    case senmlJSON = 110
    /// `application/senml+cbor` (112).
    case senmlCBOR = 112
    /// `application/vnd.oma.lwm2m+tlv` (11542).
    case tlv = 11542
    /// `application/vnd.oma.lwm2m+json` (11543).
    case lwm2mJSON = 11543
    /// `application/vnd.oma.lwm2m+cbor` (11544, LwM2M 1.2).
    case lwm2mCBOR = 11544

    /// The format for a Content-Format number, mapping the LwM2M 1.0 legacy numbers (1541-1544).
    public init?(number: UInt16) {
        switch number {
        case 1541: self = .textPlain
        case 1542: self = .tlv
        case 1543: self = .lwm2mJSON
        case 1544: self = .opaque
        default: self.init(rawValue: number)
        }
    }

    /// The media type name.
    public var description: String {
        switch self {
        case .textPlain: return "text/plain"
        case .linkFormat: return "application/link-format"
        case .opaque: return "application/octet-stream"
        case .cbor: return "application/cbor"
        case .senmlJSON: return "application/senml+json"
        case .senmlCBOR: return "application/senml+cbor"
        case .tlv: return "application/vnd.oma.lwm2m+tlv"
        case .lwm2mJSON: return "application/vnd.oma.lwm2m+json"
        case .lwm2mCBOR: return "application/vnd.oma.lwm2m+cbor"
        }
    }
}
