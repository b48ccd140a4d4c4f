/// Why a path string was rejected by `LwM2MPath(parsing:)` or `LwM2MVersionedPath(parsing:)`.
///
/// Errors compare by `code` only, so tests and callers can match on the kind of failure.
public struct LwM2MPathError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure (an open set).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        @usableFromInline let value: UInt8
        @inlinable init(_ value: UInt8) { self.value = value }

        /// The string is empty.
        public static let empty = Code(1)
        /// The path does not start with `/`.
        public static let missingLeadingSlash = Code(2)
        /// Two slashes in a row, or a trailing slash after an identifier (`/3//0`, `/3/`).
        public static let emptySegment = Code(3)
        /// A segment holds something other than decimal digits (`/3/a`, `/+3`).
        public static let nonNumericSegment = Code(4)
        /// An identifier is larger than 65534.
        public static let identifierOutOfRange = Code(5)
        /// An identifier is 65535, which the specification reserves.
        public static let reservedIdentifier = Code(6)
        /// More than four levels (`/1/2/3/4/5`).
        public static let tooDeep = Code(7)
        /// A version hint (`_1.1`) is malformed or placed on a level other than the object.
        public static let invalidVersionHint = Code(8)
        /// A segment has leading zeros (`/03`), which has no canonical form.
        public static let leadingZero = Code(9)

        /// A short name of the code.
        public var description: String {
            switch self {
            case .empty: return "empty"
            case .missingLeadingSlash: return "missingLeadingSlash"
            case .emptySegment: return "emptySegment"
            case .nonNumericSegment: return "nonNumericSegment"
            case .identifierOutOfRange: return "identifierOutOfRange"
            case .reservedIdentifier: return "reservedIdentifier"
            case .tooDeep: return "tooDeep"
            case .invalidVersionHint: return "invalidVersionHint"
            case .leadingZero: return "leadingZero"
            default: return "code(\(value))"
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// A human explanation.
    public var reason: String
    /// The rejected input.
    public var input: String
    /// The UTF-8 offset in `input` where the problem was found.
    public var offset: Int

    /// Creates an error.
    public init(code: Code, reason: String, input: String, offset: Int) {
        self.code = code
        self.reason = reason
        self.input = input
        self.offset = offset
    }

    /// Errors are equal when their codes are.
    public static func == (lhs: LwM2MPathError, rhs: LwM2MPathError) -> Bool { lhs.code == rhs.code }
    /// Hashes the code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// `invalid LwM2M path "<input>" at offset N: <reason>`.
    public var description: String { "invalid LwM2M path \"\(input)\" at offset \(offset): \(reason)" }

    static func empty(_ input: String) -> Self {
        .init(code: .empty, reason: "the path is empty (the root is \"/\")", input: input, offset: 0)
    }
    static func missingLeadingSlash(_ input: String) -> Self {
        .init(code: .missingLeadingSlash, reason: "a path must start with \"/\"", input: input, offset: 0)
    }
    static func emptySegment(_ input: String, at offset: Int) -> Self {
        .init(code: .emptySegment, reason: "empty segment (two slashes in a row or a trailing slash)",
              input: input, offset: offset)
    }
    static func nonNumeric(_ input: String, at offset: Int) -> Self {
        .init(code: .nonNumericSegment, reason: "a segment must be a decimal identifier", input: input, offset: offset)
    }
    static func outOfRange(_ input: String, at offset: Int) -> Self {
        .init(code: .identifierOutOfRange, reason: "identifiers are 0...65534", input: input, offset: offset)
    }
    static func reserved(_ input: String, at offset: Int) -> Self {
        .init(code: .reservedIdentifier, reason: "65535 is a reserved identifier", input: input, offset: offset)
    }
    static func tooDeep(_ input: String, at offset: Int) -> Self {
        .init(code: .tooDeep, reason: "a path has at most four levels (/o/i/r/ri)", input: input, offset: offset)
    }
    static func leadingZero(_ input: String, at offset: Int) -> Self {
        .init(code: .leadingZero, reason: "identifiers are written without leading zeros", input: input, offset: offset)
    }
    static func versionHint(_ input: String, at offset: Int, _ why: String) -> Self {
        .init(code: .invalidVersionHint, reason: why, input: input, offset: offset)
    }
}
