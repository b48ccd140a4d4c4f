/// Why a block-wise transfer (RFC 7959) failed, with the CoAP response code it maps to.
///
/// Compared by `code` only, so tests can match a kind of error.
public struct CoAPBlockError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure (an open set).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// A Block1/Block2 option value longer than 3 bytes.
        public static let invalidOptionLength = Code(name: "invalidOptionLength")
        /// SZX 7 (reserved) in a Block option: 4.00 (RFC 7959 section 2.2).
        public static let reservedSZX = Code(name: "reservedSZX")
        /// A block number past 2^20 - 1, or a block size that is not a power of two in 16...1024.
        public static let invalidValue = Code(name: "invalidValue")
        /// A block that does not continue the transfer (a gap, an unknown transfer, a size mismatch): 4.08.
        public static let incomplete = Code(name: "incomplete")
        /// The body exceeds the configured maximum: 4.13.
        public static let tooLarge = Code(name: "tooLarge")
        /// A non-final block whose payload is not exactly the block size: 4.00.
        public static let badBlockSize = Code(name: "badBlockSize")
        /// A Block2 request for a block past the end of the representation: 4.02.
        public static let blockOutOfRange = Code(name: "blockOutOfRange")
        /// The representation changed (different ETag) in the middle of a Block2 transfer.
        public static let representationChanged = Code(name: "representationChanged")
        /// The peer answered a block with something the transfer cannot continue from.
        public static let unexpectedResponse = Code(name: "unexpectedResponse")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// A human explanation.
    public var reason: String
    /// The option concerned (Block1 or Block2), when there is one.
    public var option: CoAPOptionNumber?
    /// The block number concerned, when there is one.
    public var blockNumber: UInt32?

    /// Creates an error.
    public init(code: Code, reason: String, option: CoAPOptionNumber? = nil, blockNumber: UInt32? = nil) {
        self.code = code
        self.reason = reason
        self.option = option
        self.blockNumber = blockNumber
    }

    /// The response code a server answers with for this failure.
    public var responseCode: CoAPCode {
        switch code {
        case .incomplete: return .requestEntityIncomplete
        case .tooLarge: return .requestEntityTooLarge
        case .blockOutOfRange, .invalidOptionLength, .invalidValue: return .badOption
        case .representationChanged, .unexpectedResponse: return .badGateway
        default: return .badRequest
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        var s = "CoAP block-wise error (\(code))"
        if let option { s += " in \(option)" }
        if let blockNumber { s += " at block \(blockNumber)" }
        return s + ": " + reason
    }
}
