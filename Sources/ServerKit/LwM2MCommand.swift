public import CoAPCore
import Foundation

/// A management command in ThingsBoard's RPC style: a method and JSON parameters, e.g.
/// `Read {"id":"/3/0/9"}` or `WriteReplace {"key":"timezone","value":"+10"}`.
public struct LwM2MCommand: Hashable, Sendable {
    /// The command methods.
    public enum Method: String, Sendable, Hashable, CaseIterable {
        case read = "Read"
        case discover = "Discover"
        case writeReplace = "WriteReplace"
        case writeUpdate = "WriteUpdate"
        case writeAttributes = "WriteAttributes"
        case execute = "Execute"
        case create = "Create"
        case delete = "Delete"
        case readComposite = "ReadComposite"
        case writeComposite = "WriteComposite"
        case observe = "Observe"
        case observeCancel = "ObserveCancel"
        case observeCancelAll = "ObserveCancelAll"
        case observeReadAll = "ObserveReadAll"
        case observeComposite = "ObserveComposite"
        case observeCompositeCancel = "ObserveCompositeCancel"
        case discoverAll = "DiscoverAll"

        /// The method named `name` (case-insensitive).
        public init?(name: some StringProtocol) {
            let lower = name.lowercased()
            guard let m = Method.allCases.first(where: { $0.rawValue.lowercased() == lower }) else { return nil }
            self = m
        }
    }

    /// The method.
    public var method: Method
    /// The parameters (a JSON object; empty when none were given).
    public var params: JSONValue

    /// Creates a command.
    public init(method: Method, params: JSONValue = .object([])) {
        self.method = method
        self.params = params
    }

    /// Parses a method name and optional JSON parameter text.
    public init(method name: some StringProtocol, params text: String?) throws(LwM2MServerError) {
        guard let method = Method(name: name) else {
            throw .invalidRequest("unknown method \(name); known: \(Method.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var params = JSONValue.object([])
        if let text, !text.allSatisfy(\.isWhitespace) {
            do { params = try JSONValue.parse(text) } catch {
                throw .invalidRequest("parameters are not valid JSON")
            }
            guard case .object = params else { throw .invalidRequest("parameters must be a JSON object") }
        }
        self.init(method: method, params: params)
    }

    /// The content format requested with a `"contentFormat"` (or `"format"`) parameter: a number, or a name such as
    /// `TLV`, `SENML_JSON`, `SENML_CBOR`, `LWM2M_JSON`, `LWM2M_CBOR`, `CBOR`, `TEXT`, `OPAQUE`.
    public func requestedContentFormat() throws(LwM2MServerError) -> CoAPContentFormat? {
        guard let value = params["contentFormat"] ?? params["format"] else { return nil }
        switch value {
        case .int(let n) where (0...65535).contains(n): return CoAPContentFormat(rawValue: UInt16(n))
        case .string(let s):
            if let n = UInt16(s) { return CoAPContentFormat(rawValue: n) }
            switch s.uppercased().replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: "+", with: "_") {
            case "TLV": return .lwm2mTLV
            case "SENML_JSON": return .senmlJSON
            case "SENML_CBOR": return .senmlCBOR
            case "JSON", "LWM2M_JSON": return .lwm2mJSON
            case "LWM2M_CBOR": return .lwm2mCBOR
            case "CBOR": return .cbor
            case "TEXT", "PLAIN_TEXT": return .textPlain
            case "OPAQUE": return .octetStream
            case "LINK", "LINK_FORMAT": return .linkFormat
            default: break
            }
        default: break
        }
        throw .invalidRequest("unknown content format \(value.jsonText)")
    }
}

/// The outcome of a command, as one JSON object: `{"endpoint":"dev1","method":"Read","result":"CONTENT","value":95}`
/// or, on failure, `{"endpoint":"dev1","method":"Read","result":"NOT_FOUND","error":"..."}`.
public struct LwM2MCommandResult: Hashable, Sendable {
    /// The endpoint the command addressed.
    public var endpoint: String?
    /// The method name as ThingsBoard spells it.
    public var method: String?
    /// The result name: `CONTENT`, `CHANGED`, `CREATED`, `DELETED`, `BAD_REQUEST`, `NOT_FOUND`, `TIMEOUT` ...
    public var result: String
    /// The value, for results that carry one.
    public var value: JSONValue?
    /// A human explanation of a failure.
    public var error: String?

    /// Creates a result.
    public init(endpoint: String?, method: String?, result: String, value: JSONValue? = nil, error: String? = nil) {
        self.endpoint = endpoint
        self.method = method
        self.result = result
        self.value = value
        self.error = error
    }

    /// The result as a JSON object.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = []
        if let endpoint { members.append(("endpoint", .string(endpoint))) }
        if let method { members.append(("method", .string(method))) }
        members.append(("result", .string(result)))
        if let value { members.append(("value", value)) }
        if let error { members.append(("error", .string(error))) }
        return .object(members)
    }

    /// ThingsBoard's name for a CoAP response code (`CONTENT` for 2.05, `NOT_FOUND` for 4.04 ...).
    public static func resultName(for code: CoAPCode) -> String {
        switch code {
        case .created: return "CREATED"
        case .deleted: return "DELETED"
        case .valid: return "VALID"
        case .changed: return "CHANGED"
        case .content: return "CONTENT"
        case .continue: return "CONTINUE"
        case .badRequest: return "BAD_REQUEST"
        case .unauthorized: return "UNAUTHORIZED"
        case .badOption: return "BAD_OPTION"
        case .forbidden: return "FORBIDDEN"
        case .notFound: return "NOT_FOUND"
        case .methodNotAllowed: return "METHOD_NOT_ALLOWED"
        case .notAcceptable: return "NOT_ACCEPTABLE"
        case .requestEntityIncomplete: return "REQUEST_ENTITY_INCOMPLETE"
        case .conflict: return "CONFLICT"
        case .preconditionFailed: return "PRECONDITION_FAILED"
        case .requestEntityTooLarge: return "REQUEST_ENTITY_TOO_LARGE"
        case .unsupportedContentFormat: return "UNSUPPORTED_CONTENT_FORMAT"
        case CoAPCode(4, 29): return "TOO_MANY_REQUESTS"
        case .internalServerError: return "INTERNAL_SERVER_ERROR"
        case .notImplemented: return "NOT_IMPLEMENTED"
        case .badGateway: return "BAD_GATEWAY"
        case .serviceUnavailable: return "SERVICE_UNAVAILABLE"
        case .gatewayTimeout: return "GATEWAY_TIMEOUT"
        case .proxyingNotSupported: return "PROXYING_NOT_SUPPORTED"
        default: return "UNKNOWN_" + code.description.replacingOccurrences(of: ".", with: "_")
        }
    }

    /// The result for a failed operation: `TIMEOUT` for timeouts, otherwise the name of the CoAP code involved
    /// (`INTERNAL_SERVER_ERROR` when there is none).
    public static func failure(_ error: LwM2MServerError, endpoint: String?, method: String?) -> LwM2MCommandResult {
        let name: String
        switch error.code {
        case .timeout: name = "TIMEOUT"
        case .cancelled: name = "CANCELED"
        default: name = error.coapCode.map(resultName(for:)) ?? "INTERNAL_SERVER_ERROR"
        }
        return LwM2MCommandResult(endpoint: endpoint, method: method, result: name, error: error.reason)
    }
}
