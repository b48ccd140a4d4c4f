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
    }
}
