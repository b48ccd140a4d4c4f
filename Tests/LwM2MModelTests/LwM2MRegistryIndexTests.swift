import LwM2MModel
import Testing

/// The flat resource index behind ``LwM2MRegistry/resourceTypeInfo(objectID:resourceID:)`` must agree with the
/// definitions after every mutation (add, replace, newer version, merge, remove).
@Suite("LwM2M registry resource index")
struct LwM2MRegistryIndexTests {
    static func definition(_ id: UInt16, _ version: String, _ resources: [(UInt16, LwM2MResourceType, Bool)])
        -> LwM2MObjectDefinition
    {
        LwM2MObjectDefinition(
            id: id, name: "X", objectVersion: version, isMultiple: true, isMandatory: false,
            resources: resources.map {
                LwM2MResourceDefinition(id: $0.0, name: "r\($0.0)", operations: .read, isMultiple: $0.2,
                                        isMandatory: false, type: $0.1)
            })
    }

    /// The answer of the protocol's default implementation (through the object definition), for comparison.
    struct Slow: LwM2MDefinitionProvider {
        var registry: LwM2MRegistry
        func objectDefinition(_ objectID: UInt16, version: String?) -> LwM2MObjectDefinition? {
            registry.objectDefinition(objectID, version: version)
        }
    }

    static func expectAgrees(_ registry: LwM2MRegistry, objects: [UInt16], resources: ClosedRange<UInt16>) {
        let slow = Slow(registry: registry)
        for o in objects {
            for r in resources {
                let fast = registry.resourceTypeInfo(objectID: o, resourceID: r)
                let reference = slow.resourceTypeInfo(objectID: o, resourceID: r)
                #expect(fast?.type == reference?.type && fast?.isMultiple == reference?.isMultiple, "/\(o)/x/\(r)")
            }
            // The per-object tables (a slice of the index, and the default built from the definition) answer the
            // same, executables excepted, whatever the lookup order (forward, backward, repeated).
            var tables = [registry.resourceTypeTable(objectID: o), slow.resourceTypeTable(objectID: o)]
            #expect((tables[0] == nil) == (registry.latestDefinition(o) == nil), "/\(o)")
            #expect((tables[1] == nil) == (registry.latestDefinition(o) == nil), "/\(o)")
            let order = Array(resources) + resources.reversed() + [resources.upperBound, resources.lowerBound, 65535]
            for r in order {
                let reference = slow.resourceTypeInfo(objectID: o, resourceID: r).flatMap { $0.type == .none ? nil : $0 }
                for k in tables.indices {
                    let info = tables[k]?.info(r)
                    #expect(info?.type == reference?.type && info?.isMultiple == reference?.isMultiple, "/\(o)/x/\(r)")
                }
            }
        }
    }

    @Test func answersTheLatestVersionAfterEveryChange() {
        var registry = LwM2MRegistry([
            Self.definition(3, "1.0", [(0, .string, false), (4, .none, false), (6, .integer, true)]),
            Self.definition(1, "1.0", [(1, .integer, false)]),
            Self.definition(65535, "1.0", [(65535, .opaque, false)]),
        ])
        #expect(registry.resourceTypeInfo(objectID: 3, resourceID: 0)?.type == .string)
        #expect(registry.resourceTypeInfo(objectID: 3, resourceID: 4)?.type == LwM2MResourceType.none)
        #expect(registry.resourceTypeInfo(objectID: 3, resourceID: 6)?.isMultiple == true)
        #expect(registry.resourceTypeInfo(objectID: 3, resourceID: 5) == nil)
        #expect(registry.resourceTypeInfo(objectID: 2, resourceID: 1) == nil)
        #expect(registry.resourceTypeInfo(objectID: 65535, resourceID: 65535)?.type == .opaque)
        Self.expectAgrees(registry, objects: [0, 1, 2, 3, 4, 65535], resources: 0...8)

        // A newer version answers; an older one added later does not displace it.
        registry.add(Self.definition(3, "1.1", [(0, .string, false), (7, .float, false)]))
        registry.add(Self.definition(3, "0.9", [(0, .boolean, false)]))
        #expect(registry.resourceTypeInfo(objectID: 3, resourceID: 7)?.type == .float)
        #expect(registry.resourceTypeInfo(objectID: 3, resourceID: 6) == nil)
        Self.expectAgrees(registry, objects: [1, 3, 65535], resources: 0...8)

        // Replacing the same version replaces its entries.
        registry.add(Self.definition(1, "1.0", [(2, .time, false)]))
        #expect(registry.resourceTypeInfo(objectID: 1, resourceID: 1) == nil)
        #expect(registry.resourceTypeInfo(objectID: 1, resourceID: 2)?.type == .time)

        var merged = LwM2MRegistry([Self.definition(2, "1.0", [(0, .unsignedInteger, false)])])
        merged.merge(registry)
        Self.expectAgrees(merged, objects: [1, 2, 3, 65535], resources: 0...8)

        merged.remove(objectID: 3)
        #expect(merged.resourceTypeInfo(objectID: 3, resourceID: 0) == nil)
        #expect(merged.resourceTypeInfo(objectID: 2, resourceID: 0)?.type == .unsignedInteger)
        Self.expectAgrees(merged, objects: [1, 2, 3, 65535], resources: 0...8)
    }

    @Test func builtInIndexAgreesWithItsDefinitions() {
        let registry = LwM2MRegistry.builtIn
        Self.expectAgrees(registry, objects: registry.objectIDs + [8, 1000], resources: 0...40)
    }

    /// Objects below and above the direct table's limit, with dense, gapped and sparse resource IDs (the
    /// `start + resourceID` probe must not answer for a neighbour when IDs have gaps).
    @Test func denseGappedAndSparseResourceIDsOnBothSidesOfTheDirectTable() {
        var registry = LwM2MRegistry([
            Self.definition(0, "1.0", [(0, .string, false), (1, .integer, false), (2, .float, true)]),
            Self.definition(5, "1.0", [(1, .integer, false), (2, .boolean, false), (5, .time, true)]),
            Self.definition(3303, "1.0", [(5700, .float, false), (5701, .string, false), (5750, .string, false)]),
            Self.definition(4095, "1.0", [(0, .opaque, false)]),
            Self.definition(4096, "1.0", [(0, .objectLink, false), (3, .coreLink, true)]),
            Self.definition(10241, "1.0", [(2, .unsignedInteger, false), (7, .integer, true)]),
        ])
        #expect(registry.resourceTypeInfo(objectID: 5, resourceID: 1)?.type == .integer)
        #expect(registry.resourceTypeInfo(objectID: 5, resourceID: 2)?.type == .boolean)
        #expect(registry.resourceTypeInfo(objectID: 5, resourceID: 0) == nil)
        #expect(registry.resourceTypeInfo(objectID: 5, resourceID: 3) == nil)
        #expect(registry.resourceTypeInfo(objectID: 5, resourceID: 5)?.isMultiple == true)
        #expect(registry.resourceTypeInfo(objectID: 3303, resourceID: 5750)?.type == .string)
        #expect(registry.resourceTypeInfo(objectID: 4096, resourceID: 3)?.type == .coreLink)
        #expect(registry.resourceTypeInfo(objectID: 4097, resourceID: 0) == nil)
        #expect(registry.resourceTypeInfo(objectID: 4094, resourceID: 0) == nil)
        let objects: [UInt16] = [0, 1, 4, 5, 6, 3302, 3303, 3304, 4095, 4096, 4097, 10241, 65534]
        Self.expectAgrees(registry, objects: objects, resources: 0...12)
        Self.expectAgrees(registry, objects: [3303], resources: 5695...5760)
        registry.remove(objectID: 0)
        registry.add(Self.definition(1, "1.0", [(0, .boolean, false)]))
        registry.remove(objectID: 4096)
        #expect(registry.resourceTypeInfo(objectID: 0, resourceID: 0) == nil)
        #expect(registry.resourceTypeInfo(objectID: 1, resourceID: 0)?.type == .boolean)
        #expect(registry.resourceTypeInfo(objectID: 5, resourceID: 2)?.type == .boolean)
        Self.expectAgrees(registry, objects: objects, resources: 0...12)
    }
}
