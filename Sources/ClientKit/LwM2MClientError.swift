public import CoAPCore
public import LwM2MModel

/// An error of a client-side operation on the object tree, carrying the CoAP response code it maps to.
/// Compared by code only.
public struct LwM2MClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of error (an open set).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The object, instance or resource does not exist (4.04).
        public static let notFound = Code(name: "notFound")
        /// The operation is not allowed on the target (4.05).
        public static let methodNotAllowed = Code(name: "methodNotAllowed")
        /// The payload or the value is invalid (4.00).
        public static let badRequest = Code(name: "badRequest")
        /// The requested format cannot be produced (4.06).
        public static let notAcceptable = Code(name: "notAcceptable")
        /// The payload's format is not supported (4.15).
        public static let unsupportedContentFormat = Code(name: "unsupportedContentFormat")
        /// Access control denies the operation (4.01).
        public static let unauthorized = Code(name: "unauthorized")
        /// The client failed internally (5.00).
        public static let internalError = Code(name: "internalError")
        /// The name.
        public var description: String { name }
    }

    /// The kind of error.
    public var code: Code
    /// What went wrong.
    public var reason: String
    /// The path concerned, if any.
    public var path: LwM2MPath?

    /// Creates an error.
    public init(code: Code, reason: String, path: LwM2MPath? = nil) {
        self.code = code
        self.reason = reason
        self.path = path
    }

    /// A 4.04 error.
    public static func notFound(_ path: LwM2MPath) -> Self { Self(code: .notFound, reason: "no \(path)", path: path) }
    /// A 4.05 error.
    public static func methodNotAllowed(_ reason: String, _ path: LwM2MPath? = nil) -> Self {
        Self(code: .methodNotAllowed, reason: reason, path: path)
    }
    /// A 4.00 error.
    public static func badRequest(_ reason: String, _ path: LwM2MPath? = nil) -> Self {
        Self(code: .badRequest, reason: reason, path: path)
    }

    /// The CoAP response code for this error.
    public var responseCode: CoAPCode {
        switch code {
        case .notFound: return .notFound
        case .methodNotAllowed: return .methodNotAllowed
        case .badRequest: return .badRequest
        case .notAcceptable: return .notAcceptable
        case .unsupportedContentFormat: return .unsupportedContentFormat
        case .unauthorized: return .unauthorized
        default: return .internalServerError
        }
    }

    /// The equivalent `CoAPError` to throw from a CoAP handler.
    public var coapError: CoAPError { CoAPError(responseCode, reason) }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
    /// A one-line description.
    public var description: String { "LwM2M client error (\(code)): \(reason)" }
}
