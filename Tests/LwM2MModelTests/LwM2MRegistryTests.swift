import Foundation
import LwM2MModel
import Testing

@Suite("LwM2M registry")
struct LwM2MRegistryTests {
    static func definition(_ id: UInt16, _ version: String, resources: [UInt16] = [0], name: String = "X")
        -> LwM2MObjectDefinition
    {
        LwM2MObjectDefinition(
            id: id, name: name, objectVersion: version, isMultiple: true, isMandatory: false,
            resources: resources.map {
                LwM2MResourceDefinition(id: $0, name: "r\($0)", operations: .read, isMultiple: false,
                                        isMandatory: false, type: .integer)
            })
    }

    @Test func versionsSideBySideAndLatestByDefault() {
        let registry = LwM2MRegistry([
            Self.definition(3, "1.1", resources: [0, 1]),
            Self.definition(3, "1.0", resources: [0]),
            Self.definition(3, "1.2", resources: [0, 1, 2]),
            Self.definition(3, "1.10", resources: [0, 1, 2, 3]),
        ])
        #expect(registry.versions(of: 3) == ["1.0", "1.1", "1.2", "1.10"])
        #expect(registry.objectDefinition(3, version: nil)?.objectVersion == "1.10")
        #expect(registry.latestDefinition(3)?.objectVersion == "1.10")
        #expect(registry.objectDefinition(3, version: "1.1")?.resources.count == 2)
        #expect(registry.objectDefinition(3, version: .v1_2)?.resources.count == 3)
        #expect(registry.resourceDefinition(objectID: 3, version: .v1_0, resourceID: 1) == nil)
        #expect(registry.resourceDefinition(objectID: 3, version: .v1_1, resourceID: 1)?.name == "r1")
        #expect(registry.resourceDefinition(objectID: 3, version: nil, resourceID: 3)?.name == "r3")
        #expect(registry.resourceDefinition(objectID: 3, resourceID: 3)?.name == "r3")
        #expect(registry.count == 4)
    }

    @Test func unknownIsUnknown() {
        let registry = LwM2MRegistry([Self.definition(3, "1.0")])
        #expect(registry.objectDefinition(4, version: nil) == nil)
        #expect(!registry.contains(objectID: 4))
        // A version it does not hold is not replaced by another one.
        #expect(registry.objectDefinition(3, version: "1.1") == nil)
        #expect(registry.objectDefinition(3, version: "garbage") == nil)
        #expect(registry.resourceDefinition(objectID: 3, version: .v1_0, resourceID: 99) == nil)
    }

    @Test func laterDefinitionsReplaceSameVersion() {
        var registry = LwM2MRegistry([Self.definition(3, "1.0", name: "old")])
        registry.add(Self.definition(3, "1.0", name: "new"))
        #expect(registry.versions(of: 3) == ["1.0"])
        #expect(registry.latestDefinition(3)?.name == "new")
        var other = LwM2MRegistry([Self.definition(3, "1.0", name: "merged"), Self.definition(9, "1.0")])
        other.merge(registry)
        #expect(other.latestDefinition(3)?.name == "new")
        #expect(other.objectIDs == [3, 9])
        other.remove(objectID: 9)
        #expect(other.objectIDs == [3])
    }

    @Test func builtInDefinitions() throws {
        #expect(LwM2MRegistry.builtInErrors.isEmpty, "\(LwM2MRegistry.builtInErrors)")
        let registry = LwM2MRegistry.builtIn
        #expect(registry.objectIDs == [0, 1, 2, 3, 4, 5, 6, 7, 9, 3303, 3311])
        #expect(registry.versions(of: 1) == ["1.0", "1.1"])
        #expect(registry.versions(of: 3) == ["1.0", "1.1"])
        #expect(registry.latestDefinition(3)?.objectVersion == "1.1")
        let battery = try #require(registry.resourceDefinition(objectID: 3, version: .v1_0, resourceID: 9))
        #expect(battery.name == "Battery Level" && battery.type == .integer && battery.operations == .read)
        #expect(battery.units == "%")
        let reboot = try #require(registry.resourceDefinition(objectID: 3, version: nil, resourceID: 4))
        #expect(reboot.operations == .execute && reboot.type == LwM2MResourceType.none && reboot.isMandatory)
        #expect(registry.objectDefinition(1, version: "1.1")?.resources.count == 24)
        #expect(registry.objectDefinition(1, version: "1.0")?.resources.count == 9)
        #expect(registry.latestDefinition(3303)?.resource(5700)?.type == .float)
        #expect(registry.latestDefinition(3311)?.resource(5850)?.type == .boolean)
        #expect(registry.latestDefinition(0)?.resource(5)?.operations == [])
        #expect(registry.latestDefinition(1234) == nil)
    }

    @Test func builtInComesFromTheResourceBundle() throws {
        let folder = try #require(LwM2MRegistry.builtInFolder)
        #expect(folder.hasSuffix("objects"))
        #if os(Linux)
        // Tests run next to the bundle SwiftPM built, as an installed executable would.
        #expect(folder.contains("_LwM2MRegistryResources.resources"), "\(folder)")
        #endif
    }

    @Test func everyFileInRegistryLoads() throws {
        let folder = TestPaths.registryObjects
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".xml") }
        #expect(names.count == 13)
        for name in names {
            let objects = try LwM2MDefinitionLoader.definitions(file: folder + "/" + name)
            #expect(objects.count == 1, "\(name)")
            // File names are `<id>.xml` or `<id>-<major>_<minor>.xml`, and agree with the content.
            let stem = name.dropLast(4)
            let parts = stem.split(separator: "-")
            #expect(String(objects[0].id) == parts[0], "\(name)")
            if parts.count == 2 {
                #expect(objects[0].objectVersion == parts[1].replacingOccurrences(of: "_", with: "."), "\(name)")
            }
            #expect(objects[0].resources.allSatisfy { !$0.name.isEmpty && !$0.description.isEmpty }, "\(name)")
        }
    }

    @Test func userFolderOverridesAndExtendsBuiltIn() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lwm2m-user-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Device 1.1 overridden with one extra resource; a vendor object added; one broken file.
        let device = DDF.object(id: "3", name: "My Device", versions: "<LWM2MVersion>1.1</LWM2MVersion><ObjectVersion>1.1</ObjectVersion>",
                                items: [DDF.item("0"), DDF.item("30000", name: "Vendor")])
        try device.write(to: folder.appendingPathComponent("3.xml"), atomically: true, encoding: .utf8)
        try DDF.object(id: "32769", items: [DDF.item("1")]).write(to: folder.appendingPathComponent("32769.xml"), atomically: true, encoding: .utf8)
        try "<LWM2M>".write(to: folder.appendingPathComponent("broken.xml"), atomically: true, encoding: .utf8)

        let (registry, errors) = LwM2MRegistry.builtIn(plus: folder.path)
        #expect(errors.map(\.code) == [.malformedXML])
        #expect(registry.latestDefinition(3)?.name == "My Device")
        #expect(registry.resourceDefinition(objectID: 3, version: .v1_1, resourceID: 30000)?.name == "Vendor")
        #expect(registry.objectDefinition(3, version: "1.0")?.name == "Device")
        #expect(registry.latestDefinition(32769)?.objectVersion == "1.2")
        #expect(registry.contains(objectID: 3311))
        // The shared built-in registry is untouched.
        #expect(LwM2MRegistry.builtIn.latestDefinition(3)?.name == "Device")
    }
}
