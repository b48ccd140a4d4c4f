import Codecs
import LwM2MModel
import Testing

/// Bytes from hex text; spaces, newlines and `//` comments to the end of a line are ignored.
func hex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var pending: UInt8?
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let code = line.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        for c in code where !c.isWhitespace {
            guard let v = c.hexDigitValue else { fatalError("bad hex digit \(c)") }
            if let hi = pending {
                out.append(hi << 4 | UInt8(v))
                pending = nil
            } else {
                pending = UInt8(v)
            }
        }
    }
    precondition(pending == nil, "odd number of hex digits")
    return out
}

/// The bytes of `s` as UTF-8.
func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Runs `body` and returns the codec error it throws, or `nil` when it succeeds (any other error is an issue).
func codecError<T>(_ body: () throws -> T) -> LwM2MCodecError? {
    do {
        _ = try body()
        return nil
    } catch let error as LwM2MCodecError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

/// Definitions shared by the tests: the Device object (3), Access Control (2) and Server (1) with the
/// resources the specification examples use, and the hypothetical objects 65/66 from the Core TS Objlnk
/// examples.
enum TestDefinitions {
    static func r(_ id: UInt16, _ type: LwM2MResourceType, multiple: Bool = false) -> LwM2MResourceDefinition {
        LwM2MResourceDefinition(id: id, name: "R\(id)", operations: .readWrite, isMultiple: multiple,
                                isMandatory: false, type: type)
    }

    static let device = LwM2MObjectDefinition(
        id: 3, name: "Device", isMultiple: false, isMandatory: true,
        resources: [
            r(0, .string), r(1, .string), r(2, .string), r(3, .string), r(4, .none), r(6, .integer, multiple: true),
            r(7, .integer, multiple: true), r(8, .integer, multiple: true), r(9, .integer), r(10, .integer),
            r(11, .integer, multiple: true), r(13, .time), r(14, .string), r(15, .string), r(16, .string),
        ])
    static let accessControl = LwM2MObjectDefinition(
        id: 2, name: "Access Control", isMultiple: true, isMandatory: false,
        resources: [r(0, .integer), r(1, .integer), r(2, .integer, multiple: true), r(3, .integer)])
    static let server = LwM2MObjectDefinition(
        id: 1, name: "LwM2M Server", isMultiple: true, isMandatory: true,
        resources: [r(0, .integer), r(1, .integer), r(2, .integer), r(3, .integer), r(6, .boolean), r(7, .string),
                    r(8, .none), r(21, .unsignedInteger), r(22, .float), r(23, .opaque), r(24, .objectLink),
                    r(25, .coreLink)])
    static let object65 = LwM2MObjectDefinition(
        id: 65, name: "Example 65", isMultiple: true, isMandatory: false,
        resources: [r(0, .objectLink, multiple: true), r(1, .string), r(2, .integer)])
    static let object66 = LwM2MObjectDefinition(
        id: 66, name: "Example 66", isMultiple: true, isMandatory: false,
        resources: [r(0, .string), r(1, .string), r(2, .objectLink)])

    static let registry = LwM2MRegistry([device, accessControl, server, object65, object66])
}
