import BootstrapKit
import Codecs
import Foundation
import LwM2MModel
import Testing

@Suite("Bootstrap configuration file")
struct LwM2MBootstrapConfigurationTests {
    func parse(_ text: String) throws(LwM2MBootstrapConfigurationError) -> LwM2MBootstrapConfigurationFile {
        try LwM2MBootstrapConfigurationFile.parse(Data(text.utf8))
    }

    func expectField(_ text: String, _ field: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try parse(text)
            Issue.record("accepted a bad file", sourceLocation: sourceLocation)
        } catch {
            #expect(error.field == field, "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.contains(field), sourceLocation: sourceLocation)
        }
    }

    @Test("a full file decodes into the plan's instances")
    func fullFile() throws {
        let file = try parse("""
            {
              "endpoints": {
                "dev1": {
                  "discover": true,
                  "read": ["/1"],
                  "delete": ["/0/1", "/1"],
                  "contentFormat": "senml+cbor",
                  "security": [
                    {"instance": 1, "uri": "coaps://srv:5684", "securityMode": "psk", "pskIdentity": "dev1",
                     "pskKey": "00112233", "shortServerId": 7}
                  ],
                  "servers": [{"instance": 0, "shortServerId": 7, "lifetime": 60, "binding": "UQ"}],
                  "accessControl": [{"instance": 0, "objectId": 3, "objectInstanceId": 0, "acl": {"7": 15},
                                     "owner": 7}],
                  "instances": [{"path": "/3/0", "resources": {"14": "+02:00", "15": "Europe/Berlin"}},
                                {"path": "/1/5", "resources": {"0": 9, "1": 30, "6": true, "7": "U"}}]
                }
              },
              "default": {"delete": ["/"]}
            }
            """)
        let dev1 = try #require(file.endpoints["dev1"])
        #expect(dev1.discover && dev1.read == [.object(1)] && dev1.delete == [.instance(0, 1), .object(1)])
        #expect(dev1.contentFormat == .senmlCBOR)
        let security = try #require(dev1.security.first)
        #expect(security.securityMode == .psk && security.publicKeyOrIdentity == Array("dev1".utf8))
        #expect(security.secretKey == [0x00, 0x11, 0x22, 0x33] && security.shortServerID == 7)
        #expect(dev1.servers.first?.binding == "UQ" && dev1.servers.first?.lifetime == 60)
        let acl = try #require(dev1.accessControl.first)
        #expect(acl.objectInstance[resource: 2]?.instances == [LwM2MResourceInstance(id: 7, value: .integer(15))])
        #expect(file.default?.delete == [.root])
        #expect(dev1.plan.writes.map(\.path) == [
            .instance(0, 1), .instance(1, 0), .instance(2, 0), .instance(3, 0), .instance(1, 5),
        ])
        #expect(dev1.instances[0].resources == [.single(14, .string("+02:00")), .single(15, .string("Europe/Berlin"))])
        #expect(dev1.instances[1].resources[1] == .single(1, .integer(30)))
        // Round trip through the encoder.
        let again = try parse(try file.json())
        #expect(again == file)
    }

    @Test("bad files are rejected naming the field")
    func badFields() {
        expectField(#"{"endpoints": {"dev1": {"security": [{"instance": 1, "shortServerId": 1}]}}}"#,
                    "endpoints.dev1.security[0].uri")
        expectField(#"{"endpoints": {"dev1": {"security": [{"instance": 1, "uri": "coap://h"}]}}}"#,
                    "endpoints.dev1.security[0].shortServerId")
        expectField(#"{"default": {"security": [{"instance": 1, "uri": "u", "shortServerId": 1, "secretKey": "xyz"}]}}"#,
                    "default.security[0].secretKey")
        expectField(#"{"default": {"security": [{"instance": 1, "uri": "u", "shortServerId": 1, "securityMode": "tls"}]}}"#,
                    "default.security[0].securityMode")
        expectField(#"{"default": {"servers": [{"instance": 0, "shortServerId": 1, "lifetime": "long"}]}}"#,
                    "default.servers[0].lifetime")
        expectField(#"{"default": {"servers": [{"instance": 0, "shortServerId": 1, "binding": "X"}]}}"#,
                    "default.servers[0].binding")
        expectField(#"{"default": {"delete": ["/0/x"]}}"#, "default.delete")
        expectField(#"{"default": {"contentFormat": "xml"}}"#, "default.contentFormat")
        expectField(#"{"endpoint": {}}"#, "endpoint")
        expectField(#"{"default": {"instances": [{"path": "/3", "resources": {}}]}}"#, "default.instances[0].path")
        expectField(#"{"default": {"instances": [{"path": "/3/0", "resources": {"999": 1}}]}}"#,
                    "default.instances[0].resources.999")
        expectField(#"{"default": {"instances": [{"path": "/1/0", "resources": {"1": "long"}}]}}"#,
                    "default.instances[0].resources.1")
        expectField(#"{"default": {"accessControl": [{"instance": 0, "objectId": 3, "objectInstanceId": 0, "owner": 1, "acl": {"a": 1}}]}}"#,
                    "default.accessControl[0].acl")
    }

    @Test("text that is not JSON is rejected")
    func notJSON() {
        #expect(throws: LwM2MBootstrapConfigurationError.self) { try parse("{nope") }
    }

    @Test("the in-memory store answers per endpoint, then the default")
    func store() async {
        let own = LwM2MBootstrapConfiguration(delete: [.object(0)])
        let store = LwM2MInMemoryBootstrapConfigurationStore(endpoints: ["a": own])
        #expect(await store.configuration(for: "a") == own)
        #expect(await store.configuration(for: "b") == nil)
        await store.setDefault(.noSec(serverURI: "coap://x"))
        #expect(await store.configuration(for: "b")?.security.first?.uri == "coap://x")
        await store.set(nil, for: "a")
        #expect(await store.configuration(for: "a")?.security.first?.uri == "coap://x")
    }
}
