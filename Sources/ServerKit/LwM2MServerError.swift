public import CoAPCore
public import LwM2MModel

/// Why a downlink operation failed: its kind, the CoAP response code involved (the client's answer, or the code
/// that fits a local failure), a reason, and the endpoint and path concerned. Compared by `code` only.
public struct LwM2MServerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure (an open set).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The client answered with an error response (see `coapCode`).
        public static let errorResponse = Code(name: "errorResponse")
        /// No response within the request's timeout (or the queued request's time-to-live).
        public static let timeout = Code(name: "timeout")
        /// The endpoint is not registered.
        public static let notRegistered = Code(name: "notRegistered")
        /// The request is invalid before sending (bad path, value that cannot be encoded, unknown key).
        public static let invalidRequest = Code(name: "invalidRequest")
        /// The response payload could not be decoded.
        public static let badResponse = Code(name: "badResponse")
        /// The client's queue of pending requests (queue mode) is full.
        public static let queueFull = Code(name: "queueFull")
        /// The request was cancelled (the registration ended, the server stopped, the caller cancelled).
        public static let cancelled = Code(name: "cancelled")
        /// The operation is not supported (by this server or for this client's LwM2M version).
        public static let unsupported = Code(name: "unsupported")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// The CoAP response code: the client's error answer, or the code that fits a local failure.
    public var coapCode: CoAPCode?
    /// A human explanation.
    public var reason: String
    /// The endpoint concerned.
    public var endpoint: String?
    /// The path concerned.
    public var path: LwM2MPath?

    /// Creates an error.
    public init(code: Code, coapCode: CoAPCode? = nil, reason: String, endpoint: String? = nil, path: LwM2MPath? = nil) {
        self.code = code
        self.coapCode = coapCode
        self.reason = reason
        self.endpoint = endpoint
        self.path = path
    }

    /// The client answered `coapCode`.
    public static func errorResponse(_ coapCode: CoAPCode, endpoint: String? = nil, path: LwM2MPath? = nil) -> Self {
        Self(code: .errorResponse, coapCode: coapCode, reason: "client answered \(coapCode) \(coapCode.name)",
            endpoint: endpoint, path: path)
    }

    /// `endpoint` is not registered.
    public static func notRegistered(_ endpoint: String) -> Self {
        Self(code: .notRegistered, coapCode: .notFound, reason: "endpoint \(endpoint) is not registered", endpoint: endpoint)
    }

    /// An invalid request (4.00).
    public static func invalidRequest(_ reason: String, endpoint: String? = nil, path: LwM2MPath? = nil) -> Self {
        Self(code: .invalidRequest, coapCode: .badRequest, reason: reason, endpoint: endpoint, path: path)
    }

    /// A timeout.
    public static func timeout(endpoint: String? = nil, path: LwM2MPath? = nil) -> Self {
        Self(code: .timeout, reason: "no response in time", endpoint: endpoint, path: path)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        var s = "\(code)"
        if let coapCode { s += " (\(coapCode))" }
        if let endpoint { s += " endpoint \(endpoint)" }
        if let path { s += " at \(path)" }
        return s + ": " + reason
    }
}
