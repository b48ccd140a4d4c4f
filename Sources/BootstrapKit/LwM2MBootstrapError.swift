public import CoAPCore

/// Why a bootstrap session (or a Bootstrap-Request) failed. Compared by `code` only.
public struct LwM2MBootstrapError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The open set of failure kinds.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The client answered a step with an error response.
        public static let errorResponse = Code(name: "errorResponse")
        /// The client did not answer a step in time.
        public static let timeout = Code(name: "timeout")
        /// The exchange failed otherwise (reset, endpoint closed, cancelled).
        public static let transport = Code(name: "transport")
        /// A planned write could not be encoded in the chosen content format.
        public static let encoding = Code(name: "encoding")
        /// No bootstrap configuration exists for the endpoint.
        public static let noConfiguration = Code(name: "noConfiguration")
        /// The client's Bootstrap-Request was malformed (e.g. no `ep`).
        public static let invalidRequest = Code(name: "invalidRequest")
        /// The session was driven out of order.
        public static let protocolViolation = Code(name: "protocolViolation")
        /// The Bootstrap-Request came without the credentials of its endpoint (answered 4.03 Forbidden).
        public static let forbidden = Code(name: "forbidden")
        /// A newer Bootstrap-Request of the same endpoint replaced this session.
        public static let superseded = Code(name: "superseded")
        /// The text name of the code.
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// A human-readable reason.
    public var reason: String
    /// The step that failed, if any.
    public var step: LwM2MBootstrapStep?
    /// The client's response code for `.errorResponse`.
    public var responseCode: CoAPCode?

    /// Creates an error.
    public init(code: Code, reason: String, step: LwM2MBootstrapStep?, responseCode: CoAPCode? = nil) {
        self.code = code
        self.reason = reason
        self.step = step
        self.responseCode = responseCode
    }

    /// The client answered `step` with `responseCode`.
    public static func errorResponse(_ responseCode: CoAPCode, step: LwM2MBootstrapStep, diagnostic: String = "")
        -> Self
    {
        let suffix = diagnostic.isEmpty ? "" : " (\(diagnostic))"
        return Self(
            code: .errorResponse, reason: "the client answered \(step) with \(responseCode)\(suffix)", step: step,
            responseCode: responseCode)
    }

    /// Compares by code only.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    /// Hashes the code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// A description naming the code, the step and the reason.
    public var description: String {
        "bootstrap failed (\(code))" + (step.map { " at \($0)" } ?? "") + ": \(reason)"
    }
}
