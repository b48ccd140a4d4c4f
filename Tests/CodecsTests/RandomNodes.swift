import LwM2MModel

/// A small deterministic PRNG (SplitMix64) so random tests replay from their seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Generates random object definitions and node trees that fit them, for round-trip and cross-format tests.
///
/// Every value is representable in every LwM2M format (finite floats, valid Unicode strings), so a tree that
/// goes through a format and back must come back equal. Reuse it from any codec test:
///
/// ```swift
/// var gen = RandomNodes(seed: 42)
/// let sample = gen.sample()   // (node, path, registry)
/// ```
struct RandomNodes {
    /// A generated node with the path it sits at and definitions that type every resource in it.
    struct Sample {
        var node: LwM2MNode
        var path: LwM2MPath
        var registry: LwM2MRegistry
        var definition: LwM2MObjectDefinition
    }

    var rng: SeededGenerator
    /// The value types to draw from (e.g. drop `.opaque` for a format that cannot carry it).
    var types: [LwM2MResourceType] = [
        .string, .integer, .unsignedInteger, .float, .boolean, .opaque, .time, .objectLink, .coreLink,
    ]
    /// The most resources per instance, instances per object and instances per multiple resource.
    var maxResources = 12
    var maxInstances = 4
    var maxResourceInstances = 5

    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func bool() -> Bool { Bool.random(using: &rng) }

    /// An identifier, usually small, sometimes needing 16 bits.
    mutating func id(max: UInt16 = 65534) -> UInt16 {
        switch int(0...9) {
        case 0...6: return UInt16(int(0...Int(min(max, 20))))
        case 7, 8: return UInt16(int(0...Int(min(max, 255))))
        default: return UInt16(int(0...Int(max)))
        }
    }

    /// A random string of ASCII, two-, three- and four-byte UTF-8 characters, some long.
    mutating func string() -> String {
        let length = int(0...9) == 0 ? int(0...300) : int(0...12)
        var s = ""
        let pools: [ClosedRange<UInt32>] = [0x20...0x7E, 0xA0...0x7FF, 0x800...0xD7FF, 0x1_0000...0x1_F6FF]
        for _ in 0..<length {
            let pool = pools[int(0...9) < 7 ? 0 : int(1...3)]
            s.unicodeScalars.append(Unicode.Scalar(UInt32.random(in: pool, using: &rng))!)
        }
        return s
    }

    /// A signed integer of a random width, including the width boundaries.
    mutating func integer() -> Int64 {
        let edges: [Int64] = [0, -1, 127, 128, -128, -129, 32767, 32768, -32768, -32769, Int64(Int32.max),
                              Int64(Int32.max) + 1, Int64(Int32.min), Int64(Int32.min) - 1, .max, .min]
        if int(0...3) == 0 { return edges[int(0...edges.count - 1)] }
        let bits = [7, 15, 31, 63][int(0...3)]
        let magnitude = Int64.random(in: 0...(bits == 63 ? Int64.max : (1 << bits) - 1), using: &rng)
        return bool() ? magnitude : -magnitude
    }

    /// A finite float: single-exact, double-only, integral, tiny and huge.
    mutating func float() -> Double {
        switch int(0...5) {
        case 0: return Double(Float(bitPattern: UInt32.random(in: 0...0x7F7F_FFFF, using: &rng))) * (bool() ? 1 : -1)
        case 1: return Double(integer() % 1_000_000)
        case 2: return [0.0, -0.0, 0.5, 1.5, 3.14, 1e-300, 1e300, .leastNonzeroMagnitude, .greatestFiniteMagnitude][int(0...8)]
        default:
            var d: Double
            repeat { d = Double(bitPattern: rng.next()) } while !d.isFinite
            return d
        }
    }

    mutating func value(_ type: LwM2MResourceType) -> LwM2MValue {
        switch type {
        case .string, .none: return .string(string())
        case .integer: return .integer(integer())
        case .unsignedInteger:
            return .unsignedInteger(int(0...2) == 0 ? [0, 255, 256, 65535, 65536, UInt64.max][int(0...5)] : rng.next() >> UInt64(int(0...63)))
        case .float: return .float(float())
        case .boolean: return .boolean(bool())
        case .opaque: return .opaque((0..<int(0...40)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        case .time: return .time(int(0...3) == 0 ? integer() : Int64(int(0...2_000_000_000)))
        case .objectLink: return .objectLink(LwM2MObjectLink(objectID: id(max: 65535), instanceID: id(max: 65535)))
        case .coreLink: return .coreLink("</\(id())/\(id())>;rt=\"x\"")
        }
    }

    /// A random object definition with `objectID`: distinct resource IDs, random types and multiplicity.
    mutating func definition(objectID: UInt16) -> LwM2MObjectDefinition {
        var ids = Set<UInt16>()
        let count = int(1...maxResources)
        while ids.count < count { ids.insert(id()) }
        let resources = ids.sorted().map { rid in
            LwM2MResourceDefinition(
                id: rid, name: "R\(rid)", operations: .readWrite, isMultiple: int(0...3) == 0, isMandatory: false,
                type: types[int(0...types.count - 1)])
        }
        return LwM2MObjectDefinition(
            id: objectID, name: "O\(objectID)", isMultiple: true, isMandatory: false, resources: resources)
    }

    mutating func resource(_ def: LwM2MResourceDefinition) -> LwM2MResource {
        if def.isMultiple {
            var ids = Set<UInt16>()
            let count = int(0...maxResourceInstances)
            while ids.count < count { ids.insert(id()) }
            return .multiple(def.id, ids.map { LwM2MResourceInstance(id: $0, value: value(def.type)) })
        }
        return .single(def.id, value(def.type))
    }

    /// An instance holding a random subset of the definition's resources (at least one).
    mutating func instance(_ def: LwM2MObjectDefinition, id iid: UInt16) -> LwM2MObjectInstance {
        var resources: [LwM2MResource] = []
        for r in def.resources where bool() || resources.isEmpty && r.id == def.resources.last!.id {
            resources.append(resource(r))
        }
        return LwM2MObjectInstance(id: iid, resources: resources)
    }

    mutating func object(_ def: LwM2MObjectDefinition) -> LwM2MObject {
        var ids = Set<UInt16>()
        let count = int(0...maxInstances)
        while ids.count < count { ids.insert(id()) }
        return LwM2MObject(id: def.id, instances: ids.map { instance(def, id: $0) })
    }

    /// A random node at `level` (random when `nil`; never the root) with its path and definitions.
    mutating func sample(level: LwM2MPath.Level? = nil) -> Sample {
        let oid = id()
        let def = definition(objectID: oid)
        let registry = LwM2MRegistry([def])
        let level = level ?? [.object, .objectInstance, .resource, .resourceInstance][int(0...3)]
        let iid = id()
        switch level {
        case .root, .object:
            return Sample(node: .object(object(def)), path: .object(oid), registry: registry, definition: def)
        case .objectInstance:
            return Sample(node: .objectInstance(instance(def, id: iid)), path: .instance(oid, iid), registry: registry,
                          definition: def)
        case .resource:
            let r = def.resources[int(0...def.resources.count - 1)]
            return Sample(node: .resource(resource(r)), path: .resource(oid, iid, r.id), registry: registry,
                          definition: def)
        case .resourceInstance:
            // Make sure the chosen resource is multiple, as a resource instance requires.
            var d = def
            let k = int(0...d.resources.count - 1)
            d.resources[k].isMultiple = true
            let r = d.resources[k]
            let riid = id()
            return Sample(node: .resourceInstance(LwM2MResourceInstance(id: riid, value: value(r.type))),
                          path: .resourceInstance(oid, iid, r.id, riid), registry: LwM2MRegistry([d]), definition: d)
        }
    }

    /// A random single value with its type, for single-value formats (text, CBOR).
    mutating func singleValue() -> (LwM2MResourceType, LwM2MValue) {
        let t = types[int(0...types.count - 1)]
        return (t, value(t))
    }
}
