/// The value type and multiplicity of every resource of one object, sorted by resource ID: what a decoder
/// consults for each element of a payload (TLV, text and CBOR carry no types).
///
/// ``LwM2MRegistry`` answers it as a slice of its flat index (no copy, no allocation); other providers build
/// one from their object definition. Lookups in payload order cost a step or two: ``info(_:)`` scans forward
/// from the previous hit before falling back to a binary search.
public struct LwM2MResourceTypeTable: Sendable {
    @usableFromInline let entries: ArraySlice<LwM2MRegistry.ResourceIndexEntry>
    /// Where the next lookup probably is: payloads usually list resources in ID order.
    @usableFromInline var hint: Int

    @inlinable
    init(_ entries: ArraySlice<LwM2MRegistry.ResourceIndexEntry>) {
        self.entries = entries
        self.hint = entries.startIndex
    }

    /// A table of `definition`'s resources.
    public init(_ definition: LwM2MObjectDefinition) {
        let key = UInt32(definition.id) << 16
        var entries: [LwM2MRegistry.ResourceIndexEntry] = []
        entries.reserveCapacity(definition.resources.count)
        for r in definition.resources.sorted(by: { $0.id < $1.id }) where entries.last?.key != key | UInt32(r.id) {
            entries.append(.init(key: key | UInt32(r.id), type: r.type, isMultiple: r.isMultiple))
        }
        self.init(entries[...])
    }

    /// The type and multiplicity of resource `id`, or `nil` when it is unknown or executable (type `none`).
    @inlinable
    public mutating func info(_ id: UInt16) -> (type: LwM2MResourceType, isMultiple: Bool)? {
        guard let entry = typeAndMultiplicity(of: id), entry.type != .none else { return nil }
        return entry
    }

    /// The type and multiplicity of resource `id` as defined (executables answer type `none`), or `nil` when
    /// the object has no such resource: what `LwM2MObjectDefinition.resource(_:)` tells, without the copy.
    @inlinable
    public mutating func typeAndMultiplicity(of id: UInt16) -> (type: LwM2MResourceType, isMultiple: Bool)? {
        // A short forward scan from the last hit (payloads list resources in ID order), then a binary search.
        let end = entries.endIndex
        var k = hint
        let limit = Swift.min(end, k &+ 3)
        while k < limit && UInt16(truncatingIfNeeded: entries[k].key) < id { k &+= 1 }
        if k >= end || UInt16(truncatingIfNeeded: entries[k].key) != id {
            var lo = entries.startIndex
            var hi = end
            while lo < hi {
                let mid = (lo &+ hi) &>> 1
                if UInt16(truncatingIfNeeded: entries[mid].key) < id { lo = mid &+ 1 } else { hi = mid }
            }
            guard lo < end, UInt16(truncatingIfNeeded: entries[lo].key) == id else { return nil }
            k = lo
        }
        hint = k &+ 1
        let entry = entries[k]
        return (entry.type, entry.isMultiple)
    }
}

extension LwM2MDefinitionProvider {
    /// Builds the table from ``objectDefinition(_:version:)`` (copies the definition once).
    public func resourceTypeTable(objectID: UInt16) -> LwM2MResourceTypeTable? {
        objectDefinition(objectID, version: nil).map(LwM2MResourceTypeTable.init)
    }
}

extension LwM2MRegistry {
    /// The latest version's resources of `objectID` as a slice of the flat index: an array index for most
    /// objects (a binary search for the others), no copy.
    @inlinable
    public func resourceTypeTable(objectID: UInt16) -> LwM2MResourceTypeTable? {
        let range = indexRange(ofObject: objectID)
        guard !range.isEmpty else { return nil }
        return LwM2MResourceTypeTable(resourceIndex[range])
    }
}
