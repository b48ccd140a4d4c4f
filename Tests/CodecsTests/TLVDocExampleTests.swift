import Codecs
import LwM2MModel
import Testing

/// The example of docs/Codecs-speed.md, kept compiling and true.
@Suite("TLV doc example")
struct TLVDocExampleTests {
    @Test func exampleRoundTripsTheDeviceInstance() throws {
        let registry = LwM2MRegistry([
            LwM2MObjectDefinition(id: 3, name: "Device", isMultiple: false, isMandatory: true, resources: [
                .init(id: 0, name: "Manufacturer", operations: .read, isMultiple: false, isMandatory: false, type: .string),
                .init(id: 9, name: "Battery Level", operations: .read, isMultiple: false, isMandatory: false, type: .integer),
            ]),
        ])
        let device = LwM2MNode.objectInstance(
            LwM2MObjectInstance(id: 0, resources: [.single(0, .string("Open Mobile Alliance")), .single(9, .integer(100))]))

        var out: [UInt8] = []
        try LwM2MTLVCodec.encode(device, at: .instance(3, 0), into: &out)
        let back = try out.withUnsafeBytes { bytes in
            try LwM2MTLVCodec.decode(bytes, at: .instance(3, 0), definitions: registry)
        }
        #expect(back == device)
        #expect(out == [0xC8, 0x00, 0x14] + Array("Open Mobile Alliance".utf8) + [0xC1, 0x09, 0x64])
    }
}
