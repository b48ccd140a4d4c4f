/// A CoAP message code `c.dd` (RFC 7252 section 3): class 0 = request method, 2 = success,
/// 4 = client error, 5 = server error; `0.00` is the empty message.
public struct CoAPCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The code byte: class in the top 3 bits, detail in the low 5.
    public var rawValue: UInt8

    /// Creates a code from its byte.
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Creates a code from class and detail, e.g. `CoAPCode(4, 4)` for 4.04.
    @inlinable public init(_ codeClass: UInt8, _ detail: UInt8) {
        precondition(codeClass < 8 && detail < 32, "CoAP code out of range")
        self.rawValue = codeClass << 5 | detail
    }

    /// The class (0...7).
    @inlinable public var codeClass: UInt8 { rawValue >> 5 }
    /// The detail (0...31).
    @inlinable public var detail: UInt8 { rawValue & 0x1F }

    /// `0.00`: the empty message.
    @inlinable public var isEmpty: Bool { rawValue == 0 }
    /// A request method (class 0, not empty).
    @inlinable public var isRequest: Bool { codeClass == 0 && rawValue != 0 }
    /// A response (classes 2 to 5).
    @inlinable public var isResponse: Bool { codeClass >= 2 && codeClass <= 5 }
    /// A success response (class 2).
    @inlinable public var isSuccess: Bool { codeClass == 2 }

    // MARK: Methods
    public static let empty = CoAPCode(0, 0)
    public static let get = CoAPCode(0, 1)
    public static let post = CoAPCode(0, 2)
    public static let put = CoAPCode(0, 3)
    public static let delete = CoAPCode(0, 4)
    public static let fetch = CoAPCode(0, 5)
    public static let patch = CoAPCode(0, 6)
    public static let iPatch = CoAPCode(0, 7)

    // MARK: Success
    public static let created = CoAPCode(2, 1)
    public static let deleted = CoAPCode(2, 2)
    public static let valid = CoAPCode(2, 3)
    public static let changed = CoAPCode(2, 4)
    public static let content = CoAPCode(2, 5)
    public static let `continue` = CoAPCode(2, 31)

    // MARK: Client errors
    public static let badRequest = CoAPCode(4, 0)
    public static let unauthorized = CoAPCode(4, 1)
    public static let badOption = CoAPCode(4, 2)
    public static let forbidden = CoAPCode(4, 3)
    public static let notFound = CoAPCode(4, 4)
    public static let methodNotAllowed = CoAPCode(4, 5)
    public static let notAcceptable = CoAPCode(4, 6)
    public static let requestEntityIncomplete = CoAPCode(4, 8)
    public static let conflict = CoAPCode(4, 9)
    public static let preconditionFailed = CoAPCode(4, 12)
    public static let requestEntityTooLarge = CoAPCode(4, 13)
    public static let unsupportedContentFormat = CoAPCode(4, 15)

    // MARK: Server errors
    public static let internalServerError = CoAPCode(5, 0)
    public static let notImplemented = CoAPCode(5, 1)
    public static let badGateway = CoAPCode(5, 2)
    public static let serviceUnavailable = CoAPCode(5, 3)
    public static let gatewayTimeout = CoAPCode(5, 4)
    public static let proxyingNotSupported = CoAPCode(5, 5)

    /// The dotted form, e.g. `2.05`.
    public var description: String {
        let d = detail
        return "\(codeClass).\(d < 10 ? "0" : "")\(d)"
    }

    /// The RFC's name for well-known codes (`Content`, `Not Found` ...), or the dotted form.
    public var name: String {
        switch self {
        case .empty: return "Empty"
        case .get: return "GET"
        case .post: return "POST"
        case .put: return "PUT"
        case .delete: return "DELETE"
        case .fetch: return "FETCH"
        case .patch: return "PATCH"
        case .iPatch: return "iPATCH"
        case .created: return "Created"
        case .deleted: return "Deleted"
        case .valid: return "Valid"
        case .changed: return "Changed"
        case .content: return "Content"
        case .continue: return "Continue"
        case .badRequest: return "Bad Request"
        case .unauthorized: return "Unauthorized"
        case .badOption: return "Bad Option"
        case .forbidden: return "Forbidden"
        case .notFound: return "Not Found"
        case .methodNotAllowed: return "Method Not Allowed"
        case .notAcceptable: return "Not Acceptable"
        case .requestEntityIncomplete: return "Request Entity Incomplete"
        case .conflict: return "Conflict"
        case .preconditionFailed: return "Precondition Failed"
        case .requestEntityTooLarge: return "Request Entity Too Large"
        case .unsupportedContentFormat: return "Unsupported Content-Format"
        case .internalServerError: return "Internal Server Error"
        case .notImplemented: return "Not Implemented"
        case .badGateway: return "Bad Gateway"
        case .serviceUnavailable: return "Service Unavailable"
        case .gatewayTimeout: return "Gateway Timeout"
        case .proxyingNotSupported: return "Proxying Not Supported"
        default: return description
        }
    }
}

/// The CoAP message type (RFC 7252 section 3).
public enum CoAPMessageType: UInt8, Hashable, Sendable, CustomStringConvertible {
    /// Confirmable: retransmitted until acknowledged.
    case confirmable = 0
    /// Non-confirmable.
    case nonConfirmable = 1
    /// Acknowledgement.
    case acknowledgement = 2
    /// Reset.
    case reset = 3

    /// `CON`, `NON`, `ACK` or `RST`.
    public var description: String {
        switch self {
        case .confirmable: return "CON"
        case .nonConfirmable: return "NON"
        case .acknowledgement: return "ACK"
        case .reset: return "RST"
        }
    }
}
