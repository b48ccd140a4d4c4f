public import LwM2MModel

/// A path as users write it in commands: `/3/0/9`, `3/0/9`, or with an object version hint `/3_1.1/0/9`.
public struct LwM2MPathText: Hashable, Sendable {
    /// The path.
    public var path: LwM2MPath
    /// The object version hint (`1.1` in `/3_1.1/0/9`), if given.
    public var objectVersion: String?

    /// Parses the text with LwM2MModel's `LwM2MVersionedPath`, also accepting a missing leading `/` (ThingsBoard
    /// writes `5/0/2`); `nil` when it is not a path.
    public init?(_ text: some StringProtocol) {
        let slashed = text.hasPrefix("/") ? String(text) : "/" + text
        guard let parsed = try? LwM2MVersionedPath(parsing: slashed) else { return nil }
        path = parsed.path
        objectVersion = parsed.objectVersion?.description
    }
}
