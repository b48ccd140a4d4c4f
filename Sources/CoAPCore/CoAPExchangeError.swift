/// Why a request (or a Confirmable message) sent by an endpoint did not get its answer.
///
/// Compared by `code` only, so tests can match a kind of failure.
public struct CoAPExchangeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure (an open set).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// No acknowledgement after MAX_RETRANSMIT retransmissions (RFC 7252 4.2).
        public static let transmissionTimeout = Code(name: "transmissionTimeout")
        /// The request was acknowledged (or sent Non-confirmable) but no response came within the timeout.
        public static let responseTimeout = Code(name: "responseTimeout")
        /// The peer answered with a Reset message.
        public static let reset = Code(name: "reset")
        /// The caller cancelled the request.
        public static let cancelled = Code(name: "cancelled")
        /// The endpoint was closed before the answer came.
        public static let closed = Code(name: "closed")
        /// The request could not be sent as given (e.g. its token is already in use with that peer).
        public static let invalidRequest = Code(name: "invalidRequest")
        /// The response could not be accepted (e.g. an unrecognised critical option, RFC 7252 5.4.1).
        public static let badResponse = Code(name: "badResponse")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// A human explanation.
    public var reason: String

    /// Creates an error.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// No acknowledgement after the last retransmission.
    public static func transmissionTimeout(_ reason: String) -> Self { Self(code: .transmissionTimeout, reason: reason) }
    /// No response in time.
    public static func responseTimeout(_ reason: String) -> Self { Self(code: .responseTimeout, reason: reason) }
    /// The peer sent a Reset.
    public static func reset(_ reason: String) -> Self { Self(code: .reset, reason: reason) }
    /// The caller cancelled.
    public static func cancelled(_ reason: String) -> Self { Self(code: .cancelled, reason: reason) }
    /// The endpoint closed.
    public static func closed(_ reason: String) -> Self { Self(code: .closed, reason: reason) }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String { "CoAP exchange failed (\(code)): \(reason)" }
}

/// An error a resource handler throws to answer with a CoAP error response (4.xx or 5.xx).
///
/// Compared by `responseCode` only. The `reason` goes out as a diagnostic payload (RFC 7252 5.5.2) unless
/// `exposesReason` is false.
public struct CoAPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The response code to answer with.
    public var responseCode: CoAPCode
    /// A human explanation.
    public var reason: String
    /// Whether `reason` is sent to the peer as a diagnostic payload.
    public var exposesReason: Bool

    /// Creates an error answering with `responseCode`.
    public init(_ responseCode: CoAPCode, _ reason: String = "", exposesReason: Bool = true) {
        self.responseCode = responseCode
        self.reason = reason
        self.exposesReason = exposesReason
    }

    /// 4.00 Bad Request.
    public static func badRequest(_ reason: String = "") -> Self { Self(.badRequest, reason) }
    /// 4.01 Unauthorized.
    public static func unauthorized(_ reason: String = "") -> Self { Self(.unauthorized, reason) }
    /// 4.02 Bad Option.
    public static func badOption(_ reason: String = "") -> Self { Self(.badOption, reason) }
    /// 4.03 Forbidden.
    public static func forbidden(_ reason: String = "") -> Self { Self(.forbidden, reason) }
    /// 4.04 Not Found.
    public static func notFound(_ reason: String = "") -> Self { Self(.notFound, reason) }
    /// 4.05 Method Not Allowed.
    public static func methodNotAllowed(_ reason: String = "") -> Self { Self(.methodNotAllowed, reason) }
    /// 4.06 Not Acceptable.
    public static func notAcceptable(_ reason: String = "") -> Self { Self(.notAcceptable, reason) }
    /// 4.08 Request Entity Incomplete.
    public static func requestEntityIncomplete(_ reason: String = "") -> Self { Self(.requestEntityIncomplete, reason) }
    /// 4.13 Request Entity Too Large.
    public static func requestEntityTooLarge(_ reason: String = "") -> Self { Self(.requestEntityTooLarge, reason) }
    /// 4.15 Unsupported Content-Format.
    public static func unsupportedContentFormat(_ reason: String = "") -> Self { Self(.unsupportedContentFormat, reason) }
    /// 5.00 Internal Server Error.
    public static func internalServerError(_ reason: String = "") -> Self { Self(.internalServerError, reason) }
    /// 5.01 Not Implemented.
    public static func notImplemented(_ reason: String = "") -> Self { Self(.notImplemented, reason) }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.responseCode == rhs.responseCode }
    public func hash(into hasher: inout Hasher) { hasher.combine(responseCode) }

    public var description: String { "\(responseCode) \(responseCode.name)" + (reason.isEmpty ? "" : ": \(reason)") }
}
