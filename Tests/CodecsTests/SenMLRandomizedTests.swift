@testable import Codecs
import LwM2MModel
import Testing

/// Random node trees through every format that can carry them, cross-format equivalence, and mutated payloads.
@Suite("Codecs: randomized round trips and malformed input")
struct SenMLRandomizedTests {
    /// A random object with instances and resources of every type, and the definition that types it.
    static func randomObject(_ rng: inout SeededGenerator) -> (LwM2MObject, LwM2MRegistry) {
        let types: [LwM2MResourceType] = [
            .string, .integer, .unsignedInteger, .float, .boolean, .opaque, .time, .objectLink, .coreLink,
        ]
        let objectID = UInt16.random(in: 0...65534, using: &rng)
        var defs: [LwM2MResourceDefinition] = []
        for rid in 0..<UInt16(12) {
            defs.append(.init(
                id: rid * 7, name: "r\(rid)", operations: .readWrite, isMultiple: Bool.random(using: &rng),
                isMandatory: false, type: types.randomElement(using: &rng)!))
        }
        func value(_ type: LwM2MResourceType) -> LwM2MValue {
            switch type {
            case .string:
                let alphabet = Array("aZ09 /\"\\\n\t€😀ü:,{}[]")
                return .string(String((0..<Int.random(in: 0...24, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }))
            case .integer: return .integer(Int64.random(in: .min ... .max, using: &rng) >> UInt64.random(in: 0...63, using: &rng))
            case .unsignedInteger: return .unsignedInteger(UInt64.random(in: 0 ... .max, using: &rng) >> UInt64.random(in: 0...63, using: &rng))
            case .float:
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: return .float(Double(Float.random(in: -1000...1000, using: &rng)))
                case 1: return .float(Double(Int.random(in: -70000...70000, using: &rng)) / 4)
                default: return .float(Double.random(in: -1e12...1e12, using: &rng))
                }
            case .boolean: return .boolean(Bool.random(using: &rng))
            case .opaque: return .opaque((0..<Int.random(in: 0...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            case .time: return .time(Int64.random(in: -1...4_000_000_000, using: &rng))
            case .objectLink:
                return .objectLink(.init(objectID: UInt16.random(in: 0...65535, using: &rng), instanceID: UInt16.random(in: 0...65535, using: &rng)))
            case .coreLink: return .coreLink("</\(Int.random(in: 0...99, using: &rng))/0>;rt=\"x\"")
            case .none: return .boolean(false)
            }
        }
        var instances: [LwM2MObjectInstance] = []
        var used = Set<UInt16>()
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let iid = UInt16.random(in: 0...65534, using: &rng)
            guard used.insert(iid).inserted else { continue }
            var resources: [LwM2MResource] = []
            for d in defs where Bool.random(using: &rng) {
                if d.isMultiple {
                    var ris: [UInt16: LwM2MValue] = [:]
                    for _ in 0..<Int.random(in: 1...3, using: &rng) { ris[UInt16.random(in: 0...65534, using: &rng)] = value(d.type) }
                    resources.append(.multiple(d.id, ris))
                } else {
                    resources.append(.single(d.id, value(d.type)))
                }
            }
            if resources.isEmpty { resources.append(defs[0].isMultiple ? .multiple(defs[0].id, [0: value(defs[0].type)]) : .single(defs[0].id, value(defs[0].type))) }
            instances.append(LwM2MObjectInstance(id: iid, resources: resources))
        }
        let object = LwM2MObject(id: objectID, instances: instances)
        let registry = LwM2MRegistry([LwM2MObjectDefinition(id: objectID, name: "Random", isMultiple: true, isMandatory: false, resources: defs)])
        return (object, registry)
    }

    @Test(arguments: NodeFormat.allCases)
    func randomTreesRoundTrip(format: NodeFormat) throws {
        var rng = SeededGenerator(seed: 0x5E41_4C00 + UInt64(format.rawValue.count))
        for _ in 0..<150 {
            let (object, registry) = Self.randomObject(&rng)
            let path = LwM2MPath.object(object.id)
            let node = LwM2MNode.object(object)
            let bytes = try format.encode(node, at: path)
            let back = try format.decode(bytes, at: path, definitions: registry)
            #expect(back == node, "\(format): \(bytes.text)")
            // One instance and one resource too.
            let instance = object.instances[0]
            let ip = LwM2MPath.instance(object.id, instance.id)
            #expect(try format.decode(try format.encode(.objectInstance(instance), at: ip), at: ip, definitions: registry)
                == .objectInstance(instance))
            let resource = instance.resources[0]
            let rp = LwM2MPath.resource(object.id, instance.id, resource.id)
            #expect(try format.decode(try format.encode(.resource(resource), at: rp), at: rp, definitions: registry)
                == .resource(resource))
        }
    }

    /// node -> SenML CBOR -> node == node -> SenML JSON -> node, and the same through the LwM2M formats.
    @Test func crossFormatEquivalence() throws {
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<100 {
            let (object, registry) = Self.randomObject(&rng)
            let path = LwM2MPath.object(object.id)
            let node = LwM2MNode.object(object)
            var results: [LwM2MNode] = []
            var current = node
            // A chain: JSON -> decode -> CBOR -> decode -> LwM2M CBOR -> decode -> LwM2M JSON -> decode.
            for format in [NodeFormat.senmlJSON, .senmlCBOR, .lwm2mCBOR, .lwm2mJSON] {
                current = try format.decode(try format.encode(current, at: path), at: path, definitions: registry)
                results.append(current)
            }
            #expect(results.allSatisfy { $0 == node })
            // Records decoded from both SenML encodings are identical.
            let records = node.records(at: path)
            let viaJSON = try NodeFormat.senmlJSON.decodeRecords(try NodeFormat.senmlJSON.encode(records: records), definitions: registry)
            let viaCBOR = try NodeFormat.senmlCBOR.decodeRecords(try NodeFormat.senmlCBOR.encode(records: records), definitions: registry)
            #expect(viaJSON == viaCBOR)
            #expect(viaJSON == records)
        }
    }

    /// Valid payloads with random byte flips, truncations, insertions and deletions: never a crash; every failure
    /// is a typed error that says where (offset or path).
    @Test(arguments: NodeFormat.allCases)
    func mutatedPayloads(format: NodeFormat) throws {
        var rng = SeededGenerator(seed: 7 + UInt64(format.rawValue.utf8.first!))
        let registry = DeviceFixture.registry
        let path = LwM2MPath.instance(3, 0)
        let valid = try format.encode(.objectInstance(DeviceFixture.instance), at: path)
        var failures = 0
        for _ in 0..<2000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                guard !bytes.isEmpty else { break }
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes[at] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                case 2: bytes.removeSubrange(at...)
                case 3: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: at)
                default: bytes.remove(at: at)
                }
            }
            do {
                _ = try format.decode(bytes, at: path, definitions: registry)
                _ = try format.decodeRecords(bytes, definitions: nil)
            } catch {
                failures += 1
                #expect(error.offset != nil || error.path != nil, "\(error)")
            }
        }
        #expect(failures > 1000)
    }

    /// Hand-written malformed inputs for each format (JSON as text, CBOR in hex) and the error each gives.
    static let malformedCases: [(NodeFormat, String, LwM2MCodecError.Code)] = [
        (.senmlJSON, "", .truncated),
        (.senmlJSON, "{}", .malformed),
        (.senmlJSON, "[", .truncated),
        (.senmlJSON, "[{]", .malformed),
        (.senmlJSON, #"[{"n":"/3/0/9","v":1},]"#, .malformed),
        (.senmlJSON, #"[{"n":"/3/0/9","v":01}]"#, .malformed),
        (.senmlJSON, #"[{"n":"/3/0/9","v":"1"}]"#, .typeMismatch),
        (.senmlJSON, #"[{"n":"/3/0/9","v":1}]]"#, .trailingBytes),
        (.senmlJSON, #"[{"n":"/3/0/9","v":1,"x":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}]"#, .limitExceeded),
        (.senmlCBOR, "", .truncated),
        (.senmlCBOR, "a0", .malformed),
        (.senmlCBOR, "81", .truncated),
        (.senmlCBOR, "81a1", .truncated),
        (.senmlCBOR, "81a1f500", .malformed),
        (.senmlCBOR, "81a20066" + hex(Array("/3/0/9".utf8)) + "026161", .typeMismatch),
        (.senmlCBOR, "81a20066" + hex(Array("/3/0/9".utf8)) + "0201" + "00", .trailingBytes),
        (.senmlCBOR, "9fa20066" + hex(Array("/3/0/9".utf8)) + "0201", .truncated),
        (.senmlCBOR, "81a2003c" + hex(Array("/3/0/9".utf8)) + "0201", .malformed),
        (.lwm2mJSON, #"{"bn":"/3/0/"}"#, .malformed),
        (.lwm2mJSON, #"{"bn":"/3/0/","e":[{"n":"9"}]}"#, .malformed),
        (.lwm2mJSON, #"{"bn":"/3/0/","e":[{"n":"9","v":1,"sv":"x"}]}"#, .malformed),
        (.lwm2mJSON, #"{"bn":"/3/0/","e":[{"n":"9","v":1}],"bn":"/4/"}"#, .malformed),
        (.lwm2mJSON, #"{"bn":"/3/0/","e":[{"n":"9","v":1}]} x"#, .trailingBytes),
        (.lwm2mCBOR, "a1820300a1", .truncated),
        (.lwm2mCBOR, "a1820300a109ff", .malformed),
        (.lwm2mCBOR, "a18203001864", .invalidPath),
        (.lwm2mCBOR, "a1831a00010000000918" + "64", .invalidPath),
    ]

    /// The bytes of a `malformedCases` input.
    static func malformedBytes(_ format: NodeFormat, _ input: String) -> [UInt8] {
        format == .senmlJSON || format == .lwm2mJSON ? Array(input.utf8) : bytes(hex: input)
    }

    /// Every malformed input fails with its code and an offset.
    @Test func malformedCorpus() {
        for (format, input, code) in Self.malformedCases {
            let b = Self.malformedBytes(format, input)
            do {
                _ = try format.decodeRecords(b, definitions: DeviceFixture.registry)
                Issue.record("\(format) accepted \(input)")
            } catch {
                #expect(error.code == code, "\(format) \(input): \(error)")
                #expect(error.offset != nil, "\(format) \(input): \(error)")
            }
        }
    }
}
