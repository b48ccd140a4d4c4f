/// A link to an object instance (the LwM2M `Objlnk` type): `objectID:instanceID`.
///
/// `65535:65535` is the specification's "null" link.
public struct LwM2MObjectLink: Hashable, Sendable, CustomStringConvertible {
    /// The linked object's identifier.
    public var objectID: UInt16
    /// The linked object instance's identifier.
    public var instanceID: UInt16

    /// Creates a link to `/objectID/instanceID`.
    @inlinable public init(objectID: UInt16, instanceID: UInt16) {
        self.objectID = objectID
        self.instanceID = instanceID
    }

    /// The null link `65535:65535`.
    public static let null = LwM2MObjectLink(objectID: 0xFFFF, instanceID: 0xFFFF)

    /// The text form used by plain text and JSON encodings: `3:0`.
    public var description: String { "\(objectID):\(instanceID)" }
}

/// The data types of LwM2M resources (Core TS Appendix C).
public enum LwM2MResourceType: String, Sendable, Hashable, CaseIterable {
    case string = "String"
    case integer = "Integer"
    case unsignedInteger = "Unsigned Integer"
    case float = "Float"
    case boolean = "Boolean"
    case opaque = "Opaque"
    case time = "Time"
    case objectLink = "Objlnk"
    case coreLink = "Corelnk"
    /// No value: executable resources.
    case none = "none"
}

/// A typed LwM2M value. `Sendable`, `Hashable` and cheap to copy (opaque bytes share storage).
public enum LwM2MValue: Hashable, Sendable {
    /// UTF-8 text.
    case string(String)
    /// A signed integer (up to 64 bits).
    case integer(Int64)
    /// An unsigned integer (up to 64 bits, LwM2M 1.1).
    case unsignedInteger(UInt64)
    /// A floating point number (32- or 64-bit on the wire).
    case float(Double)
    /// A boolean.
    case boolean(Bool)
    /// Raw bytes.
    case opaque([UInt8])
    /// A point in time: seconds since 1970-01-01T00:00:00Z.
    case time(Int64)
    /// A link to an object instance.
    case objectLink(LwM2MObjectLink)
    /// A CoRE link format string (RFC 6690), e.g. `</3/0>`.
    case coreLink(String)

    /// The data type of this value.
    @inlinable public var type: LwM2MResourceType {
        switch self {
        case .string: return .string
        case .integer: return .integer
        case .unsignedInteger: return .unsignedInteger
        case .float: return .float
        case .boolean: return .boolean
        case .opaque: return .opaque
        case .time: return .time
        case .objectLink: return .objectLink
        case .coreLink: return .coreLink
        }
    }
}
