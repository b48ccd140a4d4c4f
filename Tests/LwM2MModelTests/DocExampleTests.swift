import LwM2MModel
import Testing

/// The example of docs/LwM2MModel.md, kept compiling and true.
@Suite("Documentation example")
struct DocExampleTests {
    @Test func readmeExample() throws {
        let path = try LwM2MPath(parsing: "/3/0/9")
        let hinted = try LwM2MVersionedPath(parsing: "/3_1.1/0/9")   // path /3/0/9, objectVersion 1.1

        let (registry, errors) = LwM2MRegistry.builtIn(plus: TestPaths.packageRoot + "/no-such-models")
        #expect(errors.map(\.code) == [.unreadableFile])
        let battery = try #require(
            registry.resourceDefinition(objectID: 3, version: hinted.objectVersion, resourceID: 9))
        #expect(battery.name == "Battery Level" && battery.type == .integer && battery.units == "%")

        let attributes = try LwM2MAttributes(query: "pmin=10&pmax=60&gt=20.5")
        try attributes.validate(level: path.level, resource: registry.resourceDefinition(objectID: 3, resourceID: 9),
                                forWriteAttributes: true)
        #expect(attributes.linkFormat == ";pmin=10;pmax=60;gt=20.5")

        var sources: LwM2MResourceInstances = [LwM2MResourceInstance(id: 1, value: .integer(5))]
        sources.insert(LwM2MResourceInstance(id: 0, value: .integer(1)))  // kept in ID order, still inline
        let powerSources = LwM2MResource.multiple(6, sources)
        #expect(powerSources.instances?.map(\.id) == [0, 1] && sources[id: 1] == .integer(5))
        #expect(powerSources == .multiple(6, [1: .integer(5), 0: .integer(1)]))
    }
}
