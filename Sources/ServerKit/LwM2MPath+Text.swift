public import LwM2MModel

/// A path as users write it in commands: `/3/0/9`, `3/0/9`, or with an object version hint `/3_1.1/0/9`.
public struct LwM2MPathText: Hashable, Sendable {
    /// The path.
    public var path: LwM2MPath
    /// The object version hint (`1.1` in `/3_1.1/0/9`), if given.
    public var objectVersion: String?

    /// Parses the text; `nil` for anything but 0 to 4 decimal identifiers (0...65534), an optional leading `/`,
    /// and an optional `_major.minor` version on the object ID.
    ///
    /// ServerKit's only path-text parser; it will defer to LwM2MModel's when that offers version hints.
    public init?(_ text: some StringProtocol) {
        var s = Substring(text)
        if s.hasPrefix("/") { s = s.dropFirst() }
        if s.isEmpty {
            path = .root
            return
        }
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 4 else { return nil }
        var ids: [UInt16] = []
        var version: String?
        for (k, part) in parts.enumerated() {
            var idText = part
            if k == 0, let underscore = part.firstIndex(of: "_") {
                idText = part[..<underscore]
                let v = part[part.index(after: underscore)...]
                guard LwM2MVersion(v) != nil else { return nil }
                version = String(v)
            }
            guard !idText.isEmpty, idText.count <= 5, idText.allSatisfy({ $0 >= "0" && $0 <= "9" }),
                let id = UInt16(idText), id != 0xFFFF
            else { return nil }
            ids.append(id)
        }
        guard
            let p = LwM2MPath(
                objectID: ids[0], instanceID: ids.count > 1 ? ids[1] : nil, resourceID: ids.count > 2 ? ids[2] : nil,
                resourceInstanceID: ids.count > 3 ? ids[3] : nil)
        else { return nil }
        path = p
        objectVersion = version
    }
}
