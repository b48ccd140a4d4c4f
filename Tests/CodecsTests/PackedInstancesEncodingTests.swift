import Codecs
import LwM2MModel
import Testing

/// The encoders write inline (packed) resource instances through their own fast path; these must give the same
/// bytes as the array path gives for the same instances.
@Suite("Packed resource instances encode as spilled ones")
struct PackedInstancesEncodingTests {
    /// Pairs of values of every kind that packs inline, at their edges (widths, signs, -0.0, a NaN).
    static let pairs: [(LwM2MValue, LwM2MValue)] = [
        (.integer(0), .integer(-1)), (.integer(127), .integer(-129)), (.integer(32767), .integer(-2_147_483_648)),
        (.integer(2_147_483_647), .time(-40000)), (.time(1_700_000_000), .time(0)),
        (.unsignedInteger(255), .unsignedInteger(256)), (.unsignedInteger(65536), .unsignedInteger(4_294_967_295)),
        (.float(-0.25), .float(0)), (.float(-0.0), .float(Double(Float.greatestFiniteMagnitude))),
        (.float(.nan), .float(Double(Float.leastNonzeroMagnitude))),
        (.float(.infinity), .float(1.5)),
        (.boolean(true), .boolean(false)),
        (.objectLink(LwM2MObjectLink(objectID: 0, instanceID: 65535)),
         .objectLink(LwM2MObjectLink(objectID: 65535, instanceID: 7))),
        (.integer(5), .boolean(true)), (.objectLink(LwM2MObjectLink(objectID: 3, instanceID: 0)), .float(2)),
    ]

    @Test func everyFormatWritesPackedInstancesAsTheArrayPathDoes() throws {
        let codec = LwM2MCodec(definitions: nil)
        for (a, b) in Self.pairs {
            for ids in [(UInt16(0), UInt16(1)), (UInt16(7), UInt16(300))] {
                let packed: LwM2MResourceInstances = [
                    LwM2MResourceInstance(id: ids.0, value: a), LwM2MResourceInstance(id: ids.1, value: b),
                ]
                var spilled = packed
                spilled.reserveCapacity(3)  // the same instances, moved to an array
                try #require(packed.packed != nil && spilled.packed == nil)
                #expect(packed.description == spilled.description)  // not ==: NaN
                let nonFinite = [a, b].contains { value in
                    if case .float(let d) = value { return !d.isFinite }
                    return false
                }
                for format in [LwM2MContentFormat.tlv, .senmlJSON, .senmlCBOR, .lwm2mCBOR] {
                    if format == .senmlJSON && nonFinite { continue }  // SenML JSON carries finite floats only
                    for (node, path) in Self.nodes(packed) {
                        let (spilledNode, _) = Self.nodes(spilled).first { $0.1 == path }!
                        let expected = try codec.encode(spilledNode, at: path, as: format)
                        let bytes = try codec.encode(node, at: path, as: format)
                        #expect(bytes == expected, "\(format) \(a) \(b) at \(path)")
                    }
                }
            }
        }
    }

    /// The resource (`/3/0/11`) holding `instances`, alone and inside its object instance and object.
    static func nodes(_ instances: LwM2MResourceInstances) -> [(LwM2MNode, LwM2MPath)] {
        let resource = LwM2MResource(id: 11, content: .multiple(instances))
        let other = LwM2MResource(id: 1, content: .single(.string("x")))
        let instance = LwM2MObjectInstance(id: 0, resources: [other, resource])
        return [
            (.resource(resource), .resource(3, 0, 11)),
            (.objectInstance(instance), .instance(3, 0)),
            (.object(LwM2MObject(id: 3, instances: [instance])), .object(3)),
        ]
    }
}
