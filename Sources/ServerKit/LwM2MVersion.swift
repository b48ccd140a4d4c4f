/// An LwM2M enabler version as a client announces it in the `lwm2m` registration parameter, e.g. `1.1`.
public struct LwM2MVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The major version.
    public var major: UInt8
    /// The minor version.
    public var minor: UInt8

    /// Creates a version.
    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    /// Parses `major.minor` (one or two digits each); `nil` for anything else (`1`, `1.1.1`, `v1.0`, `1.`).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2,
            parts.allSatisfy({ (1...2).contains($0.count) && $0.allSatisfy { $0 >= "0" && $0 <= "9" } }),
            let major = UInt8(parts[0]), let minor = UInt8(parts[1])
        else { return nil }
        self.init(major: major, minor: minor)
    }

    /// LwM2M 1.0 (the default when a client sends no `lwm2m` parameter).
    public static let v1_0 = LwM2MVersion(major: 1, minor: 0)
    /// LwM2M 1.1.
    public static let v1_1 = LwM2MVersion(major: 1, minor: 1)
    /// LwM2M 1.2.
    public static let v1_2 = LwM2MVersion(major: 1, minor: 2)

    /// `major.minor`, e.g. `1.1`.
    public var description: String { "\(major).\(minor)" }

    public static func < (lhs: LwM2MVersion, rhs: LwM2MVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}
