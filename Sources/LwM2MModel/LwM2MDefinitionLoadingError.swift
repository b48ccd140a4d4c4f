/// Why an object definition file (OMA DDF XML) could not be used.
///
/// Names the file, the line (1-based; 0 when unknown) and what is wrong. Errors compare by `code` only.
public struct LwM2MDefinitionLoadingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure (an open set).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        @usableFromInline let value: UInt8
        @inlinable init(_ value: UInt8) { self.value = value }

        /// The file could not be read.
        public static let unreadableFile = Code(1)
        /// The XML is not well-formed (truncated, mismatched tags, bad characters ...).
        public static let malformedXML = Code(2)
        /// The root element is not `LWM2M`, or it holds no `Object`.
        public static let wrongRoot = Code(3)
        /// A required element is missing or empty (`ObjectID`, `Name`, `MultipleInstances`, ...).
        public static let missingElement = Code(4)
        /// An identifier is not a decimal number in 0...65534 (`ObjectID`, `Item/@ID`).
        public static let invalidIdentifier = Code(5)
        /// A value outside its enumeration (`Operations`, `Type`, `MultipleInstances`, `Mandatory`, versions).
        public static let invalidValue = Code(6)
        /// Two `Item`s of one object share an ID.
        public static let duplicateResource = Code(7)
        /// The file is well-formed but not valid against the schema it was checked with.
        public static let schemaViolation = Code(8)

        /// A short name of the code.
        public var description: String {
            switch self {
            case .unreadableFile: return "unreadableFile"
            case .malformedXML: return "malformedXML"
            case .wrongRoot: return "wrongRoot"
            case .missingElement: return "missingElement"
            case .invalidIdentifier: return "invalidIdentifier"
            case .invalidValue: return "invalidValue"
            case .duplicateResource: return "duplicateResource"
            case .schemaViolation: return "schemaViolation"
            default: return "code(\(value))"
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// What is wrong, in words.
    public var reason: String
    /// The file (as given to the loader; the name passed for in-memory documents).
    public var file: String
    /// The line in the file, 1-based; 0 when unknown.
    public var line: Int

    /// Creates an error.
    public init(code: Code, reason: String, file: String, line: Int) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    /// Errors are equal when their codes are.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    /// Hashes the code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// `file:line: reason`.
    public var description: String { "\(file):\(line): \(reason)" }
}
