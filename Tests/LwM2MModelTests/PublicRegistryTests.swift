import Foundation
import LwM2MModel
import Testing

/// Compares the loader with the summaries of the public OMA registry in `../shared/registry` (test data that
/// is not part of the package). Skipped, with a message, when that folder is absent (e.g. in a user's clone).
@Suite(
    "Public OMA registry",
    .enabled(
        if: TestPaths.sharedRegistryAvailable,
        "../shared/registry (the public OMA registry test data) is not next to the package; skipping the comparison"
    )
)
struct PublicRegistryTests {
    struct Row {
        var file, objectID, objectVersion, lwm2mVersion, name, multiple, mandatory, resourceCount, mandatoryIDs: String
    }

    static func rows(_ csv: String) throws -> [Row] {
        let text = try String(contentsOfFile: TestPaths.sharedRegistry + "/" + csv, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let header = lines.removeFirst()
        #expect(header == "file,object_id,object_version,lwm2m_version,name,multiple_instances,mandatory,resource_count,mandatory_resource_ids")
        return lines.map { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return Row(file: f[0], objectID: f[1], objectVersion: f[2], lwm2mVersion: f[3], name: f[4],
                       multiple: f[5], mandatory: f[6], resourceCount: f[7], mandatoryIDs: f[8])
        }
    }

    func check(folder: String, csv: String, expectedFiles: Int) throws {
        let rows = try Self.rows(csv)
        #expect(rows.count == expectedFiles)
        let directory = TestPaths.sharedRegistry + "/" + folder
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".xml") }
        #expect(Set(files) == Set(rows.map(\.file)))

        for row in rows {
            let objects: [LwM2MObjectDefinition]
            do {
                objects = try LwM2MDefinitionLoader.definitions(file: directory + "/" + row.file)
            } catch {
                Issue.record("\(row.file): \(error)")
                continue
            }
            guard objects.count == 1, let object = objects.first else {
                Issue.record("\(row.file): \(objects.count) objects")
                continue
            }
            // An empty CSV field means the element is absent or empty; the loader then reports 1.0.
            #expect(String(object.id) == row.objectID, "\(row.file)")
            #expect(object.objectVersion == (row.objectVersion.isEmpty ? "1.0" : row.objectVersion), "\(row.file)")
            #expect(object.lwm2mVersion == (row.lwm2mVersion.isEmpty ? "1.0" : row.lwm2mVersion), "\(row.file)")
            #expect(object.name == row.name, "\(row.file)")
            #expect((object.isMultiple ? "Multiple" : "Single") == row.multiple, "\(row.file)")
            #expect((object.isMandatory ? "Mandatory" : "Optional") == row.mandatory, "\(row.file)")
            #expect(String(object.resources.count) == row.resourceCount, "\(row.file)")
            let mandatoryIDs = object.resources.filter(\.isMandatory).map { String($0.id) }.joined(separator: ";")
            #expect(mandatoryIDs == row.mandatoryIDs, "\(row.file)")
        }
    }

    @Test func currentObjectsAgreeWithTheSummary() throws {
        try check(folder: "objects", csv: "expected-summary.csv", expectedFiles: 325)
    }

    @Test func versionHistoryAgreesWithTheSummary() throws {
        try check(folder: "version_history", csv: "expected-summary-version-history.csv", expectedFiles: 422)
    }

    @Test func wholeFoldersLoadWithoutErrors() throws {
        let current = LwM2MDefinitionLoader.definitions(folder: TestPaths.sharedRegistry + "/objects")
        #expect(current.errors.isEmpty, "\(current.errors)")
        #expect(current.definitions.count == 325)

        var registry = LwM2MRegistry()
        #expect(registry.load(folder: TestPaths.sharedRegistry + "/version_history").isEmpty)
        #expect(registry.count == 422)
        #expect(registry.versions(of: 4) == ["1.0", "1.1", "1.2", "1.3"])
        #expect(registry.versions(of: 3) == ["1.0", "1.1", "1.2"])
        #expect(registry.versions(of: 1) == ["1.0", "1.1", "1.2"])
        #expect(registry.latestDefinition(3)?.resources.count == 23)
        #expect(registry.objectDefinition(19, version: "1.1") == nil)
    }
}

/// Checks the package's own definitions against OMA's schemas, which live with the public registry test data.
@Suite(
    "Registry/ against the OMA schemas",
    .enabled(
        if: TestPaths.sharedRegistryAvailable,
        "../shared/registry/schema (OMA's XSDs) is not next to the package; skipping schema validation"
    )
)
struct RegistrySchemaTests {
    @Test func everyShippedFileIsValid() throws {
        let folder = TestPaths.registryObjects
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".xml") }
        #expect(!names.isEmpty)
        for name in names {
            let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
            let xsd = text.contains("LWM2M-v1_1.xsd") ? "LWM2M-v1_1.xsd" : "LWM2M.xsd"
            let violation = try LwM2MDefinitionLoader.schemaViolation(
                file: folder + "/" + name, schema: TestPaths.sharedRegistry + "/schema/" + xsd)
            #expect(violation == nil, "\(name): \(violation.map(String.init(describing:)) ?? "")")
        }
    }

    @Test func aKnownInvalidPublicFileIsReported() throws {
        // 511.xml places Description2 before ObjectID (see the registry README).
        let violation = try LwM2MDefinitionLoader.schemaViolation(
            file: TestPaths.sharedRegistry + "/objects/511.xml", schema: TestPaths.sharedRegistry + "/schema/LWM2M.xsd")
        let error = try #require(violation)
        #expect(error.code == .schemaViolation)
        #expect(error.line > 0)
        #expect(!error.reason.isEmpty)
    }
}
