import Codecs
import LwM2MModel
import Testing

/// The "model and codecs" example of README.md, compiled and checked.
@Suite("README example")
struct ReadmeExampleTests {
    @Test func modelAndCodecs() throws {
        let registry = LwM2MRegistry.builtIn
        let path = try LwM2MPath(parsing: "/3/0")
        let codec = LwM2MCodec(definitions: registry)
        let instance = LwM2MNode.objectInstance(LwM2MObjectInstance(id: 0, resources: [.single(9, .integer(100))]))
        let tlv = try codec.encode(instance, at: path, as: .tlv)
        #expect(tlv == [0xC1, 0x09, 0x64])
        let senml = try codec.encode(instance, at: path, as: .senmlJSON)
        let back = try codec.decode(senml, at: path, as: .senmlJSON)
        #expect(back == instance)
        var reused = back
        try codec.decode(tlv, at: path, as: .tlv, into: &reused)
        #expect(reused == instance)
    }
}
