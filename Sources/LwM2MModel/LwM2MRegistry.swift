/// A model repository: object definitions by ID and version.
///
/// Several versions of one object live side by side (e.g. Device 1.0, 1.1 and 1.2); a lookup without a
/// version answers the latest. Objects it does not know are answered with `nil` ("unknown"), never guessed.
public struct LwM2MRegistry: LwM2MDefinitionProvider, Sendable {
    /// Definitions by object ID, each list ordered by ascending object version.
    @usableFromInline var objects: [UInt16: [LwM2MObjectDefinition]] = [:]

    /// Creates an empty registry.
    public init() {}

    /// Creates a registry holding `definitions` (later ones replace earlier ones of the same ID and version).
    public init(_ definitions: some Sequence<LwM2MObjectDefinition>) {
        for d in definitions { add(d) }
    }

    /// Adds `definition`, replacing any definition of the same object ID and object version.
    public mutating func add(_ definition: LwM2MObjectDefinition) {
        var list = objects[definition.id, default: []]
        list.removeAll { $0.objectVersion == definition.objectVersion }
        list.append(definition)
        list.sort { LwM2MRegistry.compareVersions($0.objectVersion, $1.objectVersion) }
        objects[definition.id] = list
    }

    /// The definition of `objectID` in `version`, or the latest version when `version` is `nil`.
    public func objectDefinition(_ objectID: UInt16, version: String?) -> LwM2MObjectDefinition? {
        guard let list = objects[objectID] else { return nil }
        guard let version else { return list.last }
        return list.first { $0.objectVersion == version }
    }

    /// All versions known for `objectID`, oldest first.
    public func versions(of objectID: UInt16) -> [String] {
        objects[objectID]?.map(\.objectVersion) ?? []
    }

    /// Every object ID known, ascending.
    public var objectIDs: [UInt16] { objects.keys.sorted() }

    /// Whether version string `a` sorts before `b` ("1.0" < "1.1" < "1.10" < "2.0").
    static func compareVersions(_ a: String, _ b: String) -> Bool {
        let pa = a.split(separator: ".").map { Int($0) ?? 0 }
        let pb = b.split(separator: ".").map { Int($0) ?? 0 }
        for k in 0..<max(pa.count, pb.count) {
            let x = k < pa.count ? pa[k] : 0
            let y = k < pb.count ? pb[k] : 0
            if x != y { return x < y }
        }
        return false
    }
}
