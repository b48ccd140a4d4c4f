/// Why an attribute list was rejected (parsing) or is not allowed where it is used (validation).
///
/// Errors compare by `code` only.
public struct LwM2MAttributeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure (an open set).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        @usableFromInline let value: UInt8
        @inlinable init(_ value: UInt8) { self.value = value }

        /// An attribute name that LwM2M does not define (in a Write-Attributes query).
        public static let unknownAttribute = Code(1)
        /// A value that does not parse for its attribute (`pmin=abc`, `edge=2`, `gt=`).
        public static let invalidValue = Code(2)
        /// The same attribute twice in one list.
        public static let duplicateAttribute = Code(3)
        /// An attribute used on a level it does not apply to (`gt` on an object, `ver` on a resource).
        public static let notApplicable = Code(4)
        /// `gt`, `lt`, `st` on a resource that is not numeric, or `edge` on a non-boolean one.
        public static let wrongResourceType = Code(5)
        /// A combination the specification forbids (`pmax < pmin`, `lt >= gt`, `lt + 2*st >= gt`,
        /// `epmax <= epmin`).
        public static let invalidCombination = Code(6)
        /// A read-only attribute (PROPERTIES class: dim, ssid, uri, ver, lwm2m) in a Write-Attributes request.
        public static let readOnly = Code(7)
        /// An attribute from a later LwM2M version than the one in use (epmin/epmax before 1.1, edge/con/hqmax
        /// before 1.2).
        public static let unsupportedVersion = Code(8)

        /// A short name of the code.
        public var description: String {
            switch self {
            case .unknownAttribute: return "unknownAttribute"
            case .invalidValue: return "invalidValue"
            case .duplicateAttribute: return "duplicateAttribute"
            case .notApplicable: return "notApplicable"
            case .wrongResourceType: return "wrongResourceType"
            case .invalidCombination: return "invalidCombination"
            case .readOnly: return "readOnly"
            case .unsupportedVersion: return "unsupportedVersion"
            default: return "code(\(value))"
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// What is wrong, in words.
    public var reason: String
    /// The attribute concerned, when there is one.
    public var attribute: String?

    /// Creates an error.
    public init(code: Code, reason: String, attribute: String?) {
        self.code = code
        self.reason = reason
        self.attribute = attribute
    }

    /// Errors are equal when their codes are.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    /// Hashes the code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// The reason, with the attribute name.
    public var description: String {
        if let attribute { return "attribute \(attribute): \(reason)" }
        return reason
    }
}
