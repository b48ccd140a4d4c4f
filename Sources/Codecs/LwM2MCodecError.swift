public import LwM2MModel

/// Why a payload could not be encoded or decoded, where, and which CoAP response it calls for.
///
/// Compared by `code` only, so tests can match a kind of error.
public struct LwM2MCodecError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of error (an open set).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The payload ends before a length or value it announced.
        public static let truncated = Code(name: "truncated")
        /// Bytes are left after the complete payload.
        public static let trailingBytes = Code(name: "trailingBytes")
        /// The payload is not well-formed in its format (bad syntax, bad header, bad nesting).
        public static let malformed = Code(name: "malformed")
        /// A value does not fit its resource's type (e.g. 9 bytes for an integer, text for a boolean).
        public static let typeMismatch = Code(name: "typeMismatch")
        /// The same path appears twice.
        public static let duplicatePath = Code(name: "duplicatePath")
        /// A path in the payload is outside the request's path or not a valid LwM2M path.
        public static let invalidPath = Code(name: "invalidPath")
        /// The format cannot carry this node (e.g. an object instance in text/plain).
        public static let notAcceptable = Code(name: "notAcceptable")
        /// The content format is not supported for this operation.
        public static let unsupportedFormat = Code(name: "unsupportedFormat")
        /// A configured limit (nesting depth, element count, size) was exceeded.
        public static let limitExceeded = Code(name: "limitExceeded")
        /// The object or resource is not in the registry, so the value's type is unknown.
        public static let unknownDefinition = Code(name: "unknownDefinition")
        public var description: String { name }
    }

    /// The CoAP response a peer should get for this error.
    public enum ResponseCode: String, Sendable, Hashable {
        /// 4.00 Bad Request: the payload is wrong.
        case badRequest = "4.00"
        /// 4.06 Not Acceptable: the requested format cannot represent the node.
        case notAcceptable = "4.06"
        /// 4.15 Unsupported Content-Format.
        case unsupportedContentFormat = "4.15"
    }

    /// The kind of error.
    public var code: Code
    /// A human explanation.
    public var reason: String
    /// The byte offset in the payload, when decoding.
    public var offset: Int?
    /// The LwM2M path concerned, when known.
    public var path: LwM2MPath?

    /// Creates an error.
    public init(code: Code, reason: String, offset: Int? = nil, path: LwM2MPath? = nil) {
        self.code = code
        self.reason = reason
        self.offset = offset
        self.path = path
    }

    /// The CoAP response code that fits this error.
    public var responseCode: ResponseCode {
        switch code {
        case .notAcceptable: return .notAcceptable
        case .unsupportedFormat: return .unsupportedContentFormat
        default: return .badRequest
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        var s = "\(code)"
        if let path { s += " at \(path)" }
        if let offset { s += " (offset \(offset))" }
        return s + ": " + reason
    }
}
