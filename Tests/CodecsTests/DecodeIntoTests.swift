import Codecs
import LwM2MModel
import Testing

/// `LwM2MCodec.decode(_:at:as:into:)`: the same result and errors as the returning decode in every format and at
/// every level, whatever the node held before; the node's arrays reused when it holds them alone and never written
/// when shared; and the empty node of the path's level after a throw.
@Suite("Decode into a reused node")
struct DecodeIntoTests {
    /// A decode's outcome: the node, or the error's code, offset and path (the reason text is not compared).
    enum Outcome: Equatable, CustomStringConvertible {
        case node(LwM2MNode)
        case failure(LwM2MCodecError.Code, Int?, LwM2MPath?)

        init(_ body: () throws(LwM2MCodecError) -> LwM2MNode) {
            do throws(LwM2MCodecError) { self = .node(try body()) } catch {
                self = .failure(error.code, error.offset, error.path)
            }
        }

        var description: String {
            switch self {
            case .node(let n): return "\(n)"
            case .failure(let code, let offset, let path):
                return "\(code) at \(offset.map(String.init) ?? "-") \(path?.description ?? "-")"
            }
        }
    }

    /// The node `decode(_:at:as:into:)` leaves after a throw, as its documentation states it.
    static func emptyNode(at path: LwM2MPath) -> LwM2MNode {
        switch path.level {
        case .root, .object: return .object(LwM2MObject(id: path.objectID ?? 0, instances: []))
        case .objectInstance: return .objectInstance(LwM2MObjectInstance(id: path.instanceID!, resources: []))
        case .resource: return .resource(LwM2MResource(id: path.resourceID!, content: .multiple([])))
        case .resourceInstance:
            return .resourceInstance(LwM2MResourceInstance(id: path.resourceInstanceID!, value: .opaque([])))
        }
    }

    /// Decodes `bytes` both ways, into `node` (kept by the caller across calls) and fresh, and checks they agree
    /// and what `node` holds after a throw; returns the outcome.
    @discardableResult
    static func check(
        _ codec: LwM2MCodec, _ bytes: [UInt8], at path: LwM2MPath, as format: LwM2MContentFormat,
        into node: inout LwM2MNode, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Outcome {
        let fresh = Outcome { () throws(LwM2MCodecError) in try codec.decode(bytes, at: path, as: format) }
        let before = node
        let into = Outcome { () throws(LwM2MCodecError) in
            try codec.decode(bytes, at: path, as: format, into: &node)
            return node
        }
        #expect(same(into, fresh, at: path), "\(format) at \(path) \(comment.map { "\($0)" } ?? "")",
                sourceLocation: sourceLocation)
        if case .failure = into {
            let expected = path.depth == 0 ? before : emptyNode(at: path)
            #expect(node == expected, "\(format) at \(path): left \(node)", sourceLocation: sourceLocation)
        }
        return fresh
    }

    /// Whether two outcomes agree: equal, or two nodes with the same TLV bytes (a NaN is not equal to itself).
    static func same(_ a: Outcome, _ b: Outcome, at path: LwM2MPath) -> Bool {
        if a == b { return true }
        guard case .node(let x) = a, case .node(let y) = b else { return false }
        guard let bx = try? LwM2MTLVCodec.encode(x, at: path), let by = try? LwM2MTLVCodec.encode(y, at: path) else {
            return false
        }
        return bx == by
    }

    /// The address of the resources' storage of an object instance node (or of instance `k` of an object node).
    static func resourcesBase(_ node: LwM2MNode, instance k: Int = 0) -> UnsafeRawPointer? {
        switch node {
        case .objectInstance(let i): return i.resources.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        case .object(let o):
            return o.instances[k].resources.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        default: return nil
        }
    }

    /// The address of an object node's instance storage.
    static func instancesBase(_ node: LwM2MNode) -> UnsafeRawPointer? {
        guard case .object(let o) = node else { return nil }
        return o.instances.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    static let deviceCodec = LwM2MCodec(definitions: DeviceFixture.registry)
    static let device = LwM2MNode.objectInstance(DeviceFixture.instance)
    /// The formats that carry every node level (TLV and the four record formats).
    static let treeFormats: [LwM2MContentFormat] = [.tlv, .senmlJSON, .senmlCBOR, .lwm2mJSON, .lwm2mCBOR]
    /// The four formats of the benchmark rows.
    static let deviceFormats: [LwM2MContentFormat] = [.tlv, .senmlJSON, .senmlCBOR, .lwm2mCBOR]

    /// The Device instance with other values (another battery level and serial number, a third error code).
    static var otherDevice: LwM2MObjectInstance {
        var instance = DeviceFixture.instance
        instance.resources[2] = .single(2, .string("ABC-999"))
        instance.resources[7] = .single(9, .integer(42))
        instance.resources[9] = .multiple(11, [0: .integer(1), 1: .integer(2), 2: .integer(3)])
        return instance
    }

    /// The Device object with two instances.
    static var twoInstances: LwM2MNode {
        .object(LwM2MObject(id: 3, instances: [DeviceFixture.instance, otherDevice.with(id: 1)]))
    }

    /// Every level of the Device object in every format (and the single-value formats where they apply),
    /// plus the specification's TLV vectors: decoded one after another into one node, so each decode starts
    /// from a node of another level, path or shape; then in the opposite order.
    @Test func goldenVectorsDecodeIntoAsFresh() throws {
        let codec = Self.deviceCodec
        var vectors: [(LwM2MContentFormat, LwM2MPath, [UInt8], LwM2MCodec)] = []
        let nodes: [(LwM2MNode, LwM2MPath)] = [
            (Self.twoInstances, .object(3)),
            (Self.device, .instance(3, 0)),
            (.objectInstance(Self.otherDevice), .instance(3, 0)),
            (.resource(.multiple(7, [0: .integer(3800), 1: .integer(5000)])), .resource(3, 0, 7)),
            (.resource(.multiple(11, [0: .integer(1), 1: .integer(2), 2: .integer(3)])), .resource(3, 0, 11)),
            (.resource(.single(0, .string("Open Mobile Alliance"))), .resource(3, 0, 0)),
            (.resourceInstance(LwM2MResourceInstance(id: 1, value: .integer(5000))), .resourceInstance(3, 0, 7, 1)),
        ]
        for (node, path) in nodes {
            for format in Self.treeFormats {
                vectors.append((format, path, try codec.encode(node, at: path, as: format), codec))
            }
        }
        for format in [LwM2MContentFormat.textPlain, .cbor] {
            let battery = LwM2MNode.resource(.single(9, .integer(100)))
            let batteryPath = LwM2MPath.resource(3, 0, 9)
            vectors.append((format, batteryPath, try codec.encode(battery, at: batteryPath, as: format), codec))
            vectors.append((format, nodes[6].1, try codec.encode(nodes[6].0, at: nodes[6].1, as: format), codec))
        }
        vectors.append((.opaque, .resource(3, 0, 0), Array("Open Mobile Alliance".utf8), LwM2MCodec(definitions: nil)))
        vectors.append((.senmlJSON, .instance(3, 0), Array(SenMLCodecTests.deviceJSON.utf8), codec))
        let spec = LwM2MCodec(definitions: TestDefinitions.registry)
        vectors += [
            (.tlv, .instance(3, 0), TLVCodecTests.specDevice, spec),
            (.tlv, .object(2), TLVCodecTests.specAccessControl, spec),
            (.tlv, .object(1), TLVCodecTests.specServer, spec),
            (.tlv, .instance(65, 0), TLVCodecTests.specObjlnkInstance, spec),
            (.tlv, .object(66), TLVCodecTests.specObjlnkObject, spec),
        ]
        var node = LwM2MNode.resource(.single(9, .integer(1)))
        for pass in 0..<2 {
            for (format, path, bytes, codec) in pass == 0 ? vectors : vectors.reversed() {
                // Twice each: from another node, then from a node of the same shape.
                for _ in 0..<2 {
                    guard case .node = Self.check(codec, bytes, at: path, as: format, into: &node) else {
                        Issue.record("\(format) at \(path) did not decode")
                        continue
                    }
                }
            }
        }
        // The untyped paths are reported as before (decodeReportingUntyped is unchanged), and `.reject` throws
        // the same error through both decodes.
        let strict = LwM2MCodec(definitions: nil, unknownResources: .reject)
        Self.check(strict, TLVCodecTests.specDevice, at: .instance(3, 0), as: .tlv, into: &node)
        let untyped = LwM2MCodec(definitions: nil)
        Self.check(untyped, TLVCodecTests.specDevice, at: .instance(3, 0), as: .tlv, into: &node)
        #expect(node == (try untyped.decode(TLVCodecTests.specDevice, at: .instance(3, 0), as: .tlv)))
    }

    /// Random trees of every level through every format that carries them, decoded into one node kept across
    /// samples; through TLV they also come back equal to the tree.
    @Test(arguments: [11, 12] as [UInt64])
    func randomTreesDecodeIntoAsFresh(seed: UInt64) throws {
        var gen = RandomNodes(seed: seed)
        var node = LwM2MNode.object(LwM2MObject(id: 1, instances: []))
        var decoded = 0
        for k in 0..<150 {
            let sample = gen.sample()
            let codec = LwM2MCodec(definitions: sample.registry)
            for format in Self.treeFormats {
                guard let bytes = try? codec.encode(sample.node, at: sample.path, as: format) else { continue }
                let outcome = Self.check(codec, bytes, at: sample.path, as: format, into: &node, "sample \(k)")
                if case .node(let n) = outcome {
                    decoded += 1
                    if format == .tlv { #expect(n == sample.node, "seed \(seed) sample \(k)") }
                }
            }
        }
        #expect(decoded > 500)
    }

    /// Decoding the Device instance again into the node refills the same resource array, in each format and
    /// across formats; the result is the fresh decode's.
    @Test func objectInstanceStorageIsReused() throws {
        let codec = Self.deviceCodec
        let path = LwM2MPath.instance(3, 0)
        var node = LwM2MNode.objectInstance(LwM2MObjectInstance(id: 7, resources: []))
        try codec.decode(try codec.encode(Self.device, at: path, as: .tlv), at: path, as: .tlv, into: &node)
        let base = Self.resourcesBase(node)
        #expect(base != nil)
        for format in Self.deviceFormats {
            for instance in [Self.otherDevice, DeviceFixture.instance] {
                let payload = try codec.encode(.objectInstance(instance), at: path, as: format)
                try codec.decode(payload, at: path, as: format, into: &node)
                #expect(node == .objectInstance(instance), "\(format)")
                #expect(Self.resourcesBase(node) == base, "\(format): a new resource array")
            }
        }
        // An object node's first instance gives its array to an instance decode.
        let object = LwM2MNode.object(LwM2MObject(id: 3, instances: [DeviceFixture.instance]))
        var objectNode = try codec.decode(try codec.encode(object, at: .object(3), as: .tlv), at: .object(3), as: .tlv)
        let first = Self.resourcesBase(objectNode)
        let cbor = try codec.encode(Self.device, at: path, as: .senmlCBOR)
        try codec.decode(cbor, at: path, as: .senmlCBOR, into: &objectNode)
        #expect(objectNode == Self.device)
        #expect(Self.resourcesBase(objectNode) == first)
    }

    /// An object decode refills the instance array and each instance's resource array.
    @Test func objectStorageIsReused() throws {
        let codec = Self.deviceCodec
        let object = Self.twoInstances
        for format in Self.deviceFormats {
            let payload = try codec.encode(object, at: .object(3), as: format)
            var node = try codec.decode(payload, at: .object(3), as: format)
            let instances = Self.instancesBase(node)
            let resources = [Self.resourcesBase(node, instance: 0), Self.resourcesBase(node, instance: 1)]
            try codec.decode(payload, at: .object(3), as: format, into: &node)
            #expect(node == object, "\(format)")
            #expect(Self.instancesBase(node) == instances, "\(format)")
            let after = [Self.resourcesBase(node, instance: 0), Self.resourcesBase(node, instance: 1)]
            #expect(after == resources, "\(format)")
        }
    }

    /// A node whose arrays another variable shares is decoded into without touching that copy (copy on write).
    @Test func sharedNodeIsNotMutatedThroughTheCopy() throws {
        let codec = Self.deviceCodec
        let path = LwM2MPath.instance(3, 0)
        for format in Self.deviceFormats {
            var node = try codec.decode(try codec.encode(Self.device, at: path, as: format), at: path, as: format)
            let copy = node
            try codec.decode(try codec.encode(.objectInstance(Self.otherDevice), at: path, as: format), at: path,
                             as: format, into: &node)
            #expect(copy == Self.device, "\(format)")
            #expect(node == .objectInstance(Self.otherDevice), "\(format)")
            #expect(Self.resourcesBase(node) != Self.resourcesBase(copy), "\(format)")
            // An error leaves the copy alone too.
            let before = node
            #expect(throws: LwM2MCodecError.self) { try codec.decode([0xFF], at: path, as: format, into: &node) }
            #expect(before == .objectInstance(Self.otherDevice))
        }
        // An instance shared out of an object node.
        let object = LwM2MNode.object(LwM2MObject(id: 3, instances: [DeviceFixture.instance]))
        let payload = try codec.encode(object, at: .object(3), as: .tlv)
        var node = try codec.decode(payload, at: .object(3), as: .tlv)
        guard case .object(let o) = node else { Issue.record("not an object"); return }
        let shared = o.instances[0]
        let other = LwM2MNode.object(LwM2MObject(id: 3, instances: [Self.otherDevice]))
        try codec.decode(try codec.encode(other, at: .object(3), as: .tlv), at: .object(3), as: .tlv, into: &node)
        #expect(shared == DeviceFixture.instance)
        #expect(node == .object(LwM2MObject(id: 3, instances: [Self.otherDevice])))
    }

    /// After a malformed payload the node is the empty node of the path's level (the TLV corpus at every level,
    /// the SenML / LwM2M corpus at the instance), the error is the fresh decode's, and the next decode works.
    @Test func malformedPayloadsLeaveTheEmptyNode() throws {
        let codec = LwM2MCodec(definitions: TestDefinitions.registry)
        let full = try codec.decode(TLVCodecTests.specDevice, at: .instance(3, 0), as: .tlv)
        for payload in RandomRoundTripTests.malformedTLV {
            for path in RandomRoundTripTests.malformedPaths {
                var node = full
                let outcome = Self.check(codec, hex(payload), at: path, as: .tlv, into: &node, "\(payload)")
                guard case .failure = outcome else { Issue.record("\(payload) at \(path) decoded"); continue }
                Self.check(codec, TLVCodecTests.specDevice, at: .instance(3, 0), as: .tlv, into: &node)
            }
        }
        // The TLV decoder still held the array: the empty instance keeps it for the next decode.
        var node = try codec.decode(TLVCodecTests.specDevice, at: .instance(3, 0), as: .tlv)  // not shared
        let base = Self.resourcesBase(node)
        #expect(throws: LwM2MCodecError.self) {
            try codec.decode(hex("C8 00 05 41"), at: .instance(3, 0), as: .tlv, into: &node)
        }
        #expect(node == Self.emptyNode(at: .instance(3, 0)))
        #expect(Self.resourcesBase(node) == base)
        try codec.decode(TLVCodecTests.specDevice, at: .instance(3, 0), as: .tlv, into: &node)
        #expect(Self.resourcesBase(node) == base)
        #expect(node == full)

        let device = Self.deviceCodec
        for (format, input, code) in SenMLRandomizedTests.malformedCases {
            let contentFormat: LwM2MContentFormat = switch format {
            case .senmlJSON: .senmlJSON
            case .senmlCBOR: .senmlCBOR
            case .lwm2mJSON: .lwm2mJSON
            case .lwm2mCBOR: .lwm2mCBOR
            }
            for path in [LwM2MPath.object(3), .instance(3, 0), .resource(3, 0, 9)] {
                var node = Self.device
                let outcome = Self.check(device, SenMLRandomizedTests.malformedBytes(format, input), at: path,
                                         as: contentFormat, into: &node, "\(input)")
                guard case .failure(let c, _, _) = outcome else { Issue.record("\(input) decoded"); continue }
                if path == .instance(3, 0) { #expect(c == code, "\(format) \(input)") }
            }
        }
        // Errors about the call: a format that cannot carry the level, link format, and the root path.
        var leaf = Self.device
        Self.check(device, [0x31], at: .instance(3, 0), as: .textPlain, into: &leaf)
        #expect(leaf == Self.emptyNode(at: .instance(3, 0)))
        leaf = Self.device
        Self.check(device, [0x31], at: .resource(3, 0, 9), as: .linkFormat, into: &leaf)
        leaf = Self.device
        Self.check(device, Array("[]".utf8), at: .root, as: .senmlJSON, into: &leaf)
        #expect(leaf == Self.device)
    }

    /// Random mutations of valid TLV payloads (the mutation corpus), decoded into one node kept throughout:
    /// every outcome is the fresh decode's, and every throw leaves the empty node.
    @Test func mutatedPayloadsDecodeIntoAsFresh() throws {
        var rng = SeededGenerator(seed: 99)
        let corpus = try RandomRoundTripTests().corpus()
        var node = LwM2MNode.object(LwM2MObject(id: 0, instances: []))
        var failures = 0
        for k in 0..<3000 {
            let (path, original, registry) = corpus[k % corpus.count]
            var bytes = original
            if !bytes.isEmpty {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0...2, using: &rng) {
                case 0: bytes[i] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                case 1: bytes.removeSubrange(i...)
                default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                }
            }
            let codec = LwM2MCodec(definitions: registry)
            if case .failure = Self.check(codec, bytes, at: path, as: .tlv, into: &node) { failures += 1 }
        }
        #expect(failures > 300)
    }
}

extension LwM2MObjectInstance {
    /// This instance with another ID.
    func with(id: UInt16) -> LwM2MObjectInstance { LwM2MObjectInstance(id: id, resources: resources) }
}
