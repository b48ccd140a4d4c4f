import Codecs
import LwM2MModel
import Testing

/// The examples of docs/Codecs-speed.md (encoders into spare capacity; the CBOR formats), kept compiling and true.
@Suite("docs/Codecs-speed.md examples")
struct SpeedDocExampleTests {
    @Test("SenML JSON encode writes the documented bytes")
    func senMLJSONExample() throws {
        let node = LwM2MNode.objectInstance(LwM2MObjectInstance(id: 0, resources: [
            .single(0, .string("Open Mobile Alliance")),
            .multiple(7, [0: .integer(3800), 1: .integer(5000)]),
        ]))
        var payload: [UInt8] = []
        try SenMLJSONCodec.encode(node, at: .instance(3, 0), into: &payload)
        #expect(String(decoding: payload, as: UTF8.self)
            == #"[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"7/0","v":3800},{"n":"7/1","v":5000}]"#)
    }

    @Test("SenML CBOR encode and decode round-trip the documented node")
    func senMLCBORExample() throws {
        let node = LwM2MNode.objectInstance(
            LwM2MObjectInstance(id: 0, resources: [LwM2MResource(id: 9, content: .single(.integer(100)))]))
        var bytes: [UInt8] = []
        try SenMLCBORCodec.encode(node, at: .instance(3, 0), into: &bytes)
        let decoded = try bytes.withUnsafeBytes { raw in
            try SenMLCBORCodec.decode(raw, at: .instance(3, 0), definitions: nil)
        }
        #expect(decoded == node)
        // [{-2: "/3/0/", 0: "9", 2: 100}]
        #expect(bytes == [0x81, 0xA3, 0x21, 0x65] + Array("/3/0/".utf8) + [0x00, 0x61, 0x39, 0x02, 0x18, 0x64])
    }

    @Test("text/plain into caller-provided storage writes the documented bytes")
    func textIntoStorageExample() throws {
        var datagram = [UInt8](repeating: 0, count: 64)
        let n = try datagram.withUnsafeMutableBytes { storage in
            try LwM2MTextCodec.encode(.integer(-1367491215), into: storage)
        }
        #expect(Array(datagram[..<n]) == Array("-1367491215".utf8))
    }

    @Test("decode into a reused node refills its resource array")
    func decodeIntoExample() throws {
        let codec = LwM2MCodec(definitions: LwM2MRegistry([
            LwM2MObjectDefinition(id: 3, name: "Device", isMultiple: false, isMandatory: true, resources: [
                .init(id: 9, name: "Battery Level", operations: .read, isMultiple: false, isMandatory: false,
                      type: .integer),
            ]),
        ]))
        var node = LwM2MNode.objectInstance(LwM2MObjectInstance(id: 0, resources: []))
        var bases: Set<UnsafeRawPointer?> = []
        for level in [100, 99, 98] as [Int64] {
            let payload: [UInt8] = [0xC1, 0x09, UInt8(level)]  // TLV: resource 9 with a one-byte value
            try codec.decode(payload, at: .instance(3, 0), as: .tlv, into: &node)
            #expect(node == .objectInstance(LwM2MObjectInstance(id: 0, resources: [.single(9, .integer(level))])))
            if case .objectInstance(let i) = node {
                bases.insert(i.resources.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) })
            }
        }
        #expect(bases.count == 1)
    }
}
