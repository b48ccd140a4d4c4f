/// A `major.minor` version as used for object versions (`ObjectVersion`, the `ver` attribute, `/3_1.1`)
/// and LwM2M enabler versions (`LWM2MVersion`, the `lwm2m` attribute).
///
/// Stored inline, ordered numerically (`1.2 < 1.10 < 2.0`).
public struct LwM2MVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The major number.
    public var major: UInt16
    /// The minor number.
    public var minor: UInt16

    /// Creates a version.
    @inlinable public init(major: UInt16, minor: UInt16) {
        self.major = major
        self.minor = minor
    }

    /// 1.0, the version an object definition has when it states none.
    public static let v1_0 = LwM2MVersion(major: 1, minor: 0)
    /// 1.1.
    public static let v1_1 = LwM2MVersion(major: 1, minor: 1)
    /// 1.2.
    public static let v1_2 = LwM2MVersion(major: 1, minor: 2)

    /// Parses `"1.1"` (also `"1"` as 1.0); `nil` for anything else. Surrounding whitespace is not accepted.
    /// Does not allocate.
    @inlinable public init?(_ text: some StringProtocol) {
        guard let v = Self.parse(utf8: text.utf8) else { return nil }
        self = v
    }

    /// Parses the UTF-8 bytes of `"1.1"` (or `"1"`); `nil` for anything else.
    @inlinable static func parse(utf8: some Sequence<UInt8>) -> LwM2MVersion? {
        var major: UInt32 = 0
        var minor: UInt32 = 0
        var digits = 0
        var seenDot = false
        for byte in utf8 {
            if byte == UInt8(ascii: ".") {
                if seenDot || digits == 0 { return nil }
                seenDot = true
                digits = 0
                continue
            }
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            digits += 1
            if digits > 5 { return nil }
            if seenDot {
                minor = minor * 10 + UInt32(byte - UInt8(ascii: "0"))
            } else {
                major = major * 10 + UInt32(byte - UInt8(ascii: "0"))
            }
        }
        guard digits > 0, major <= UInt32(UInt16.max), minor <= UInt32(UInt16.max) else { return nil }
        return LwM2MVersion(major: UInt16(major), minor: UInt16(minor))
    }

    /// `"major.minor"`.
    public var description: String { "\(major).\(minor)" }

    /// Numeric order, major first.
    @inlinable public static func < (lhs: LwM2MVersion, rhs: LwM2MVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}
