/// Why a datagram is not a well-formed CoAP message, and where (RFC 7252 section 3 "message format error").
///
/// Compared by `code` only, so tests can match a kind of error.
public struct CoAPMessageDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of format error (an open set).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// Fewer than 4 bytes, or a length that runs past the end.
        public static let truncated = Code(name: "truncated")
        /// Version other than 1 (such messages are silently ignored).
        public static let unsupportedVersion = Code(name: "unsupportedVersion")
        /// Token length 9 to 15.
        public static let invalidTokenLength = Code(name: "invalidTokenLength")
        /// An empty message (0.00) with a token, options or payload.
        public static let nonEmptyEmptyMessage = Code(name: "nonEmptyEmptyMessage")
        /// Option delta or length nibble 15 outside the payload marker.
        public static let reservedNibble = Code(name: "reservedNibble")
        /// The option number passes 65535.
        public static let optionNumberOverflow = Code(name: "optionNumberOverflow")
        /// A payload marker followed by no payload.
        public static let emptyPayloadAfterMarker = Code(name: "emptyPayloadAfterMarker")
        /// A code of class 1, 6 or 7 (reserved).
        public static let reservedCodeClass = Code(name: "reservedCodeClass")
        public var description: String { name }
    }

    /// The kind of error.
    public var code: Code
    /// A human explanation.
    public var reason: String
    /// The byte offset into the datagram where the problem was found.
    public var offset: Int
    /// The option number being decoded, when the problem is in an option.
    public var optionNumber: UInt32?
    /// The message ID, when the header was readable (so a CON can be answered with RST).
    public var messageID: UInt16?
    /// The message type, when the header was readable.
    public var messageType: CoAPMessageType?

    /// Creates an error.
    public init(
        code: Code, reason: String, offset: Int, optionNumber: UInt32? = nil,
        messageID: UInt16? = nil, messageType: CoAPMessageType? = nil
    ) {
        self.code = code
        self.reason = reason
        self.offset = offset
        self.optionNumber = optionNumber
        self.messageID = messageID
        self.messageType = messageType
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        var s = "CoAP message format error (\(code)) at offset \(offset)"
        if let optionNumber { s += ", option \(optionNumber)" }
        return s + ": " + reason
    }
}
