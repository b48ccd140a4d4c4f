public import NIOCore

/// Why a `CoAPMessageLayer` did not hand an inbound datagram to the application (an open set, compared by
/// name).
///
/// `isRoutine` separates what happens on any healthy network (a duplicate, a late ACK, a RST or response for
/// an exchange already given up) from input that breaks the rules (a format error, an unrecognised critical
/// option), so a driver can log the former quietly and the latter loudly.
public struct CoAPDiscardReason: Hashable, Sendable, CustomStringConvertible {
    /// The reason's name (stable; used in logs).
    public let name: String
    /// Whether the reason is expected on a healthy network (duplicates, late or stray answers).
    public let isRoutine: Bool

    /// Creates a reason.
    public init(name: String, isRoutine: Bool) {
        self.name = name
        self.isRoutine = isRoutine
    }

    /// Not a well-formed CoAP message (RFC 7252 section 3); `CoAPDiscard.decodingError` says what and where.
    public static let malformed = Self(name: "malformed", isRoutine: false)
    /// An empty Non-confirmable message (0.00 NON is a format error, RFC 7252 section 4.1).
    public static let emptyNonConfirmable = Self(name: "emptyNonConfirmable", isRoutine: false)
    /// An ACK carrying a request code (RFC 7252 section 4.2: ACKs carry responses or nothing).
    public static let requestInAcknowledgement = Self(name: "requestInAcknowledgement", isRoutine: false)
    /// A RST that is not an empty message (RFC 7252 section 4.2).
    public static let nonEmptyReset = Self(name: "nonEmptyReset", isRoutine: false)
    /// A message ID seen recently from this peer: the cached answer (if any) was replayed instead.
    public static let duplicate = Self(name: "duplicate", isRoutine: true)
    /// An ACK matching no outstanding Confirmable (late, duplicated, or for an exchange already over).
    public static let unmatchedAcknowledgement = Self(name: "unmatchedAcknowledgement", isRoutine: true)
    /// A piggybacked response whose token differs from the request's; the layer keeps waiting for a
    /// separate response with the right token.
    public static let tokenMismatch = Self(name: "tokenMismatch", isRoutine: false)
    /// A RST matching no outstanding message.
    public static let unmatchedReset = Self(name: "unmatchedReset", isRoutine: true)
    /// A response whose token matches no open request (RFC 7252 section 5.3.2); rejected with RST,
    /// which also ends an unwanted observation.
    public static let unmatchedResponse = Self(name: "unmatchedResponse", isRoutine: true)
    /// A request with an unrecognised, badly sized or wrongly repeated critical option (RFC 7252 5.4.1):
    /// answered 4.02 Bad Option (CON) or RST (NON).
    public static let badOption = Self(name: "badOption", isRoutine: false)
    /// A request with Proxy-Uri or Proxy-Scheme to an endpoint that is no proxy: answered 5.05.
    public static let proxyingNotSupported = Self(name: "proxyingNotSupported", isRoutine: false)
    /// A response with an unrecognised critical option: the exchange fails with `.badResponse`.
    public static let badResponseOption = Self(name: "badResponseOption", isRoutine: false)

    public var description: String { name }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}

/// What a `CoAPMessageLayer` did about an inbound datagram it did not deliver (or delivered only partly):
/// who sent it, what was wrong, and what went back. Structured values only, so emitting one costs no
/// formatting; the driver formats it when its log level asks for it.
public struct CoAPDiscard: Sendable, CustomStringConvertible {
    /// What the layer answered.
    public enum Answer: Hashable, Sendable, CustomStringConvertible {
        /// Nothing went back.
        case nothing
        /// A RST (RFC 7252 section 4.2/4.3).
        case reset
        /// A response with this code (e.g. 4.02 Bad Option, 5.05 Proxying Not Supported).
        case response(CoAPCode)
        /// The answer cached for the message ID was sent again (deduplication).
        case replay
        /// An empty ACK (a duplicate of a request the application is still working on).
        case emptyAcknowledgement

        public var description: String {
            switch self {
            case .nothing: return "nothing"
            case .reset: return "RST"
            case .response(let code): return "\(code)"
            case .replay: return "replay"
            case .emptyAcknowledgement: return "empty ACK"
            }
        }
    }

    /// The peer the datagram came from.
    public var peer: SocketAddress
    /// What was wrong.
    public var reason: CoAPDiscardReason
    /// What the layer answered.
    public var answer: Answer
    /// The message ID, when the header was readable.
    public var messageID: UInt16?
    /// The message type, when the header was readable.
    public var messageType: CoAPMessageType?
    /// The decoding error (with its code, offset and option number) for `.malformed`.
    public var decodingError: CoAPMessageDecodingError?
    /// The offending option, for option problems.
    public var option: CoAPOptionNumber?
    /// The outgoing exchange concerned, when the datagram matched one (e.g. `.badResponseOption`).
    public var exchange: CoAPExchangeID?

    /// Creates a discard report.
    public init(
        peer: SocketAddress, reason: CoAPDiscardReason, answer: Answer, messageID: UInt16? = nil,
        messageType: CoAPMessageType? = nil, decodingError: CoAPMessageDecodingError? = nil,
        option: CoAPOptionNumber? = nil, exchange: CoAPExchangeID? = nil
    ) {
        self.peer = peer
        self.reason = reason
        self.answer = answer
        self.messageID = messageID
        self.messageType = messageType
        self.decodingError = decodingError
        self.option = option
        self.exchange = exchange
    }

    /// The byte offset of a format error, when decoding failed.
    public var offset: Int? { decodingError?.offset }

    public var description: String {
        var s = "\(reason) from \(peer.hostAndPort)"
        if let messageType, let messageID { s += " (\(messageType) mid \(messageID))" }
        if let decodingError { s += ": \(decodingError)" }
        if let option { s += ", option \(option.rawValue)" }
        return s + "; answered \(answer)"
    }
}
