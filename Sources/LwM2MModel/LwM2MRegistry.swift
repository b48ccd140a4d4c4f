/// A model repository: object definitions by ID and version.
///
/// Several versions of one object live side by side (e.g. Device 1.0, 1.1 and 1.2); a lookup without a
/// version answers the latest. Objects it does not know are answered with `nil` ("unknown"), never guessed,
/// and a version it does not hold is unknown too (no silent fallback to another version).
///
/// ```swift
/// var registry = LwM2MRegistry.builtIn          // Registry/ shipped with the package
/// let errors = registry.load(folder: "models")   // a user's folder overrides and extends it
/// let battery = registry.resourceDefinition(objectID: 3, version: .v1_1, resourceID: 9)
/// ```
public struct LwM2MRegistry: LwM2MDefinitionProvider, Sendable {
    /// Definitions by object ID, each list ordered by ascending object version.
    @usableFromInline var objects: [UInt16: [LwM2MObjectDefinition]] = [:]
    /// The type and multiplicity of every resource of each object's latest version, sorted by
    /// `objectID << 16 | resourceID`: the codecs' per-payload lookup, a binary search that copies nothing.
    @usableFromInline var resourceIndex: [ResourceIndexEntry] = []
    /// Where each object's entries sit in ``resourceIndex``, by object ID, for the IDs below
    /// ``directObjectLimit``: `start << 32 | end` (empty when unknown). Makes a lookup of a known object an
    /// array index; resources are then found at `start + resourceID` when IDs are dense, else by binary search.
    @usableFromInline var objectRanges: [UInt64] = []

    /// Object IDs below this have an entry in ``objectRanges`` (the OMA core and most registered objects);
    /// others are found by binary search over the whole index.
    @inlinable static var directObjectLimit: Int { 4096 }

    /// One entry of ``resourceIndex``.
    @usableFromInline
    struct ResourceIndexEntry: Sendable {
        @usableFromInline let key: UInt32
        @usableFromInline let type: LwM2MResourceType
        @usableFromInline let isMultiple: Bool

        @inlinable
        init(key: UInt32, type: LwM2MResourceType, isMultiple: Bool) {
            self.key = key
            self.type = type
            self.isMultiple = isMultiple
        }
    }

    /// Creates an empty registry.
    public init() {}

    /// Creates a registry holding `definitions` (later ones replace earlier ones of the same ID and version).
    public init(_ definitions: some Sequence<LwM2MObjectDefinition>) {
        for d in definitions { add(d) }
    }

    /// Adds `definition`, replacing any definition of the same object ID and object version.
    public mutating func add(_ definition: LwM2MObjectDefinition) {
        var list = objects[definition.id, default: []]
        list.removeAll { LwM2MRegistry.sameVersion($0.objectVersion, definition.objectVersion) }
        list.append(definition)
        list.sort { LwM2MRegistry.compareVersions($0.objectVersion, $1.objectVersion) }
        objects[definition.id] = list
        reindex(definition.id)
    }

    /// Replaces the index entries of `objectID` by the resources of its latest version (none when unknown).
    mutating func reindex(_ objectID: UInt16) {
        let lower = UInt32(objectID) << 16
        let first = indexPosition(of: lower)
        var end = first
        while end < resourceIndex.count && resourceIndex[end].key >> 16 == UInt32(objectID) { end += 1 }
        var entries: [ResourceIndexEntry] = []
        if let latest = objects[objectID]?.last {
            for r in latest.resources.sorted(by: { $0.id < $1.id }) {
                // A definition listing an ID twice keeps the first, as `resource(_:)` would find one of them.
                if let last = entries.last, last.key == lower | UInt32(r.id) { continue }
                entries.append(ResourceIndexEntry(key: lower | UInt32(r.id), type: r.type, isMultiple: r.isMultiple))
            }
        }
        resourceIndex.replaceSubrange(first..<end, with: entries)
        updateObjectRanges(objectID, start: first, removed: end - first, inserted: entries.count)
    }

    /// Keeps ``objectRanges`` in step with one ``reindex(_:)``: `objectID`'s entries, `removed` of them at
    /// `start`, became `inserted`. Only the objects after it move (the index is sorted by object ID), so this
    /// shifts their ranges instead of recomputing every range from the whole index on each `add`.
    mutating func updateObjectRanges(_ objectID: UInt16, start: Int, removed: Int, inserted: Int) {
        let o = Int(objectID)
        let delta = inserted - removed
        if delta != 0 && o + 1 < objectRanges.count {
            // A range is `start << 32 | end`; 0 means "no entries", which never moves.
            for k in (o + 1)..<objectRanges.count where objectRanges[k] != 0 {
                let start = Int(objectRanges[k] >> 32) + delta
                let end = Int(objectRanges[k] & 0xFFFF_FFFF) + delta
                objectRanges[k] = UInt64(start) << 32 | UInt64(end)
            }
        }
        guard o < Self.directObjectLimit else { return }
        if objectRanges.count <= o {
            guard inserted > 0 else { return }
            objectRanges.append(contentsOf: repeatElement(0, count: o + 1 - objectRanges.count))
        }
        objectRanges[o] = inserted > 0 ? UInt64(start) << 32 | UInt64(start + inserted) : 0
    }

    /// The index range of `objectID`'s entries (empty when unknown).
    @inlinable @inline(__always)
    func indexRange(ofObject objectID: UInt16) -> Range<Int> {
        let o = Int(objectID)
        if o < objectRanges.count {
            let r = objectRanges[o]
            let start = Int(truncatingIfNeeded: r >> 32)
            return start..<Swift.max(start, Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: r)))
        }
        if o < Self.directObjectLimit { return 0..<0 }
        let lower = UInt32(objectID) << 16
        let first = indexPosition(of: lower)
        var end = indexPosition(of: lower | 0xFFFF)
        if end < resourceIndex.count && resourceIndex[end].key == lower | 0xFFFF { end += 1 }
        return first..<end
    }

    /// The first index position whose key is not below `key`.
    @inlinable
    func indexPosition(of key: UInt32) -> Int {
        resourceIndex.withUnsafeBufferPointer { entries in
            var lo = 0
            var hi = entries.count
            while lo < hi {
                let mid = (lo + hi) &>> 1
                if entries[mid].key < key { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
    }

    /// The type and multiplicity of resource `resourceID` of the latest version of `objectID`, or `nil` when
    /// unknown. Copies no definition, allocates nothing: for a known object an array index (then one probe when
    /// its resource IDs are dense, else a binary search over its few resources).
    @inlinable
    public func resourceTypeInfo(objectID: UInt16, resourceID: UInt16)
        -> (type: LwM2MResourceType, isMultiple: Bool)?
    {
        let range = indexRange(ofObject: objectID)
        let key = UInt32(objectID) << 16 | UInt32(resourceID)
        return resourceIndex.withUnsafeBufferPointer { entries -> (type: LwM2MResourceType, isMultiple: Bool)? in
            // `range` lies within the index (it was computed from it).
            let guess = range.lowerBound &+ Int(resourceID)
            if guess < range.upperBound && entries[guess].key == key {
                return (entries[guess].type, entries[guess].isMultiple)
            }
            var lo = range.lowerBound
            var hi = range.upperBound
            while lo < hi {
                let mid = (lo &+ hi) &>> 1
                let k = entries[mid].key
                if k == key { return (entries[mid].type, entries[mid].isMultiple) }
                if k < key { lo = mid &+ 1 } else { hi = mid }
            }
            return nil
        }
    }

    /// Adds every definition of `other`, replacing the ones of the same object ID and version.
    public mutating func merge(_ other: LwM2MRegistry) {
        for list in other.objects.values {
            for definition in list { add(definition) }
        }
    }

    /// Removes every version of `objectID`.
    public mutating func remove(objectID: UInt16) {
        objects[objectID] = nil
        reindex(objectID)
    }

    /// The definition of `objectID` in `version`, or the latest version when `version` is `nil`.
    public func objectDefinition(_ objectID: UInt16, version: String?) -> LwM2MObjectDefinition? {
        guard let version else { return objects[objectID]?.last }
        guard let parsed = LwM2MVersion(version) else { return nil }
        return objectDefinition(objectID, version: parsed)
    }

    /// The definition of `objectID` in exactly `version`, or `nil`. Does not allocate.
    @inlinable
    public func objectDefinition(_ objectID: UInt16, version: LwM2MVersion) -> LwM2MObjectDefinition? {
        guard let list = objects[objectID] else { return nil }
        for definition in list where LwM2MVersion(definition.objectVersion) == version {
            return definition
        }
        return nil
    }

    /// The latest version held of `objectID`, or `nil` when the object is unknown. Does not allocate.
    @inlinable
    public func latestDefinition(_ objectID: UInt16) -> LwM2MObjectDefinition? {
        objects[objectID]?.last
    }

    /// The definition of resource `resourceID` of object `objectID` in `version` (the latest when `nil`),
    /// or `nil` when the object, the version or the resource is unknown. Does not allocate.
    @inlinable
    public func resourceDefinition(
        objectID: UInt16, version: LwM2MVersion?, resourceID: UInt16
    ) -> LwM2MResourceDefinition? {
        if let version { return objectDefinition(objectID, version: version)?.resource(resourceID) }
        return latestDefinition(objectID)?.resource(resourceID)
    }

    /// Whether any version of `objectID` is known.
    @inlinable public func contains(objectID: UInt16) -> Bool { objects[objectID] != nil }

    /// All versions known for `objectID`, oldest first.
    public func versions(of objectID: UInt16) -> [String] {
        objects[objectID]?.map(\.objectVersion) ?? []
    }

    /// Every object ID known, ascending.
    public var objectIDs: [UInt16] { objects.keys.sorted() }

    /// Every definition held, by object ID then version.
    public var allDefinitions: [LwM2MObjectDefinition] {
        objectIDs.flatMap { objects[$0]! }
    }

    /// The number of (object, version) definitions held.
    public var count: Int { objects.values.reduce(0) { $0 + $1.count } }

    /// Whether two version strings name the same version ("1.0" and "1.00" do not differ numerically).
    static func sameVersion(_ a: String, _ b: String) -> Bool {
        if let va = LwM2MVersion(a), let vb = LwM2MVersion(b) { return va == vb }
        return a == b
    }

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

// MARK: - Loading

extension LwM2MRegistry {
    /// Loads every `*.xml` file in `folder`, adding (and replacing by object ID and version) definitions.
    ///
    /// Used on top of ``builtIn`` it lets a user's folder override or extend the shipped definitions.
    /// - Returns: one error per file that could not be used; the other files are loaded regardless.
    @discardableResult
    public mutating func load(folder: String) -> [LwM2MDefinitionLoadingError] {
        let result = LwM2MDefinitionLoader.definitions(folder: folder)
        for definition in result.definitions { add(definition) }
        return result.errors
    }

    /// A registry holding the definitions of every `*.xml` file in `folder`, and the per-file errors.
    public static func loading(folder: String) -> (registry: LwM2MRegistry, errors: [LwM2MDefinitionLoadingError]) {
        var registry = LwM2MRegistry()
        let errors = registry.load(folder: folder)
        return (registry, errors)
    }

    /// The definitions shipped with the package (`Registry/` at the package root): objects 0-7, 9, 3303 and
    /// 3311, with Server and Device in versions 1.0 and 1.1. Loaded once, on first use.
    public static var builtIn: LwM2MRegistry { BuiltInRegistry.shared.registry }

    /// Errors met while loading the built-in definitions (empty unless the package resources are damaged
    /// or missing).
    public static var builtInErrors: [LwM2MDefinitionLoadingError] { BuiltInRegistry.shared.errors }

    /// The folder the built-in definitions are read from, or `nil` when the package resources are missing.
    public static var builtInFolder: String? { BuiltInRegistry.folder }

    /// The built-in definitions overlaid with every `*.xml` file of `folder` (the user's files win).
    public static func builtIn(plus folder: String) -> (registry: LwM2MRegistry, errors: [LwM2MDefinitionLoadingError]) {
        var registry = builtIn
        let errors = registry.load(folder: folder)
        return (registry, errors)
    }
}
