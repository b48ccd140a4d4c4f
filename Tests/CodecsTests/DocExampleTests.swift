import Codecs
import LwM2MModel
import Testing

/// The example of docs/Codecs-text-tlv.md, kept compiling and true.
@Suite("Codecs documentation example")
struct DocExampleTests {
    @Test func readmeExample() throws {
        let registry = LwM2MRegistry([
            LwM2MObjectDefinition(id: 3, name: "Device", isMultiple: false, isMandatory: true, resources: [
                .init(id: 9, name: "Battery Level", operations: .read, isMultiple: false, isMandatory: false, type: .integer),
            ]),
        ])
        let codec = LwM2MCodec(definitions: registry)

        let instance = LwM2MNode.objectInstance(LwM2MObjectInstance(id: 0, resources: [.single(9, .integer(100))]))
        let tlv = try codec.encode(instance, at: .instance(3, 0), as: .tlv)
        #expect(tlv == [0xC1, 0x09, 0x64])
        #expect(try codec.decode(tlv, at: .instance(3, 0), as: .tlv) == instance)
        let text = try codec.encode(.resource(.single(9, .integer(100))), at: .resource(3, 0, 9), as: .textPlain)
        #expect(text == Array("100".utf8))

        let links = try CoRELinkFormat(parsing: #"</>;rt="oma.lwm2m";ct=110,</1>;ver=1.1,</1/0>,</3/0>"#)
        #expect(links.links.map(\.target) == ["/", "/1", "/1/0", "/3/0"])
    }
}
