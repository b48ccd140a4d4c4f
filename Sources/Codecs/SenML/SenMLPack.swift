import LwM2MModel

/// The writer side shared by SenML JSON and SenML CBOR: which base name, base time and name each record gets.
///
/// Every record of a resource or resource instance is named relative to its object instance (`bn` = `/3/0/`,
/// `n` = `9` or `7/1`), as the LwM2M specification's examples do; a base name is only repeated when the instance
/// changes. A record naming an object or instance (the Read-Composite request body) gets its path as base name and no
/// name. A base time is written when a record's time stamp differs from the current one; the name `t` is never
/// needed.
struct SenMLRecordPlan {
    /// The current base name: its object and instance levels (`nil` when absent), whether it ends with `/`, and
    /// whether one was written.
    private var baseObject: UInt16? = nil
    private var baseInstance: UInt16? = nil
    private var baseSlash = false
    private var hasBase = false
    /// The current base time.
    private var baseTime: Double?

    /// What to write for one record.
    struct Fields {
        /// Write `bn` (levels `0..<baseDepth` of the path, with a trailing `/` when `baseSlash`).
        var writeBase: Bool
        var baseDepth: Int
        var baseSlash: Bool
        /// Write `bt` with this value.
        var writeBaseTime: Double?
        /// Write `n` (levels `baseDepth..<depth`, no leading `/`).
        var writeName: Bool
    }

    /// The length of the string or bytes `value` carries (0 for numbers, booleans and links): what an encoder's
    /// size bound adds to a record's fixed part.
    @inline(__always)
    static func payloadLength(_ value: LwM2MValue) -> Int {
        switch value {
        case .string(let s), .coreLink(let s): return s.utf8.count
        case .opaque(let bytes): return bytes.count
        default: return 0
        }
    }

    /// The fields for a record at `path` stamped `timestamp`.
    @inline(__always)
    mutating func plan(_ path: LwM2MPath, timestamp: Double?) -> Fields {
        // Resources and resource instances are named below their instance (`/3/0/`); an object or instance path
        // is its own base name.
        let depth = path.depth
        let slash = depth >= 3
        let baseDepth = slash ? 2 : depth
        let o = path.objectID
        let i = path.instanceID
        let writeBase = !hasBase || o != baseObject || i != baseInstance || slash != baseSlash
        if writeBase {
            baseObject = o
            baseInstance = i
            baseSlash = slash
            hasBase = true
        }
        var bt: Double? = nil
        if timestamp != baseTime {
            bt = timestamp ?? 0
            baseTime = timestamp ?? 0
        }
        return Fields(
            writeBase: writeBase, baseDepth: baseDepth, baseSlash: slash, writeBaseTime: bt,
            writeName: depth > baseDepth)
    }
}

/// Walks a node's values in path order, with the full path of each, without building records.
enum LwM2MNodeWalk {
    /// Checks that `node` sits at `path` (same level, same last identifier).
    static func check(_ node: LwM2MNode, at path: LwM2MPath) throws(LwM2MCodecError) {
        let id: UInt16
        switch node {
        case .object(let o): id = o.id
        case .objectInstance(let i): id = i.id
        case .resource(let r): id = r.id
        case .resourceInstance(let ri): id = ri.id
        }
        guard node.level == path.level, path[path.depth - 1] == id else {
            throw LwM2MCodecError(
                code: .invalidPath, reason: "a \(node.level) node with ID \(id) cannot sit at \(path)", path: path)
        }
    }

    /// The number of values below `node` and the sum of `bound` over them.
    @inline(__always)
    static func measure(_ node: LwM2MNode, _ bound: (LwM2MValue) -> Int) -> (count: Int, bound: Int) {
        var count = 0
        var total = 0
        // Indexing, not `for in`: an iterator copies each resource (retaining its strings) and each instance.
        @inline(__always)
        func add(_ r: borrowing LwM2MResource) {
            switch r.content {
            case .single(let v):
                count += 1
                total += bound(v)
            case .multiple(let instances):
                count += instances.count
                for k in instances.indices { total += bound(instances[k].value) }
            }
        }
        switch node {
        case .object(let o):
            for x in o.instances.indices {
                for k in o.instances[x].resources.indices { add(o.instances[x].resources[k]) }
            }
        case .objectInstance(let i):
            for k in i.resources.indices { add(i.resources[k]) }
        case .resource(let r):
            add(r)
        case .resourceInstance(let ri):
            count = 1
            total = bound(ri.value)
        }
        return (count, total)
    }

    /// Calls `body` with the full path and value of every value below `node` at `path`, in path order.
    @inline(__always)
    static func forEach(
        _ node: LwM2MNode, at path: LwM2MPath,
        _ body: (LwM2MPath, LwM2MValue) throws(LwM2MCodecError) -> Void
    ) throws(LwM2MCodecError) {
        @inline(__always)
        func resource(_ r: LwM2MResource, _ rp: LwM2MPath) throws(LwM2MCodecError) {
            switch r.content {
            case .single(let v):
                try body(rp, v)
            case .multiple(let instances):
                for ri in instances { try body(try child(rp, ri.id), ri.value) }
            }
        }
        @inline(__always)
        func instance(_ i: LwM2MObjectInstance, _ ip: LwM2MPath) throws(LwM2MCodecError) {
            for r in i.resources { try resource(r, try child(ip, r.id)) }
        }
        switch node {
        case .object(let o):
            for i in o.instances { try instance(i, try child(path, i.id)) }
        case .objectInstance(let i):
            try instance(i, path)
        case .resource(let r):
            try resource(r, path)
        case .resourceInstance(let ri):
            try body(path, ri.value)
        }
    }

    /// The reserved identifier 65535, which no level of a path may hold.
    static let absent: UInt16 = 0xFFFF

    @inline(__always)
    static func child(_ path: LwM2MPath, _ id: UInt16) throws(LwM2MCodecError) -> LwM2MPath {
        guard let p = path.appending(id) else {
            throw LwM2MCodecError(code: .invalidPath, reason: "identifier \(id) is not valid below \(path)", path: path)
        }
        return p
    }
}

/// The reader side shared by SenML JSON and SenML CBOR (RFC 8428 section 4.6 resolution with LwM2M names).
struct SenMLResolver {
    /// The labels LwM2M uses or SenML defines.
    enum Label {
        case baseName, baseTime, baseUnit, baseValue, baseSum, baseVersion
        case name, unit, value, stringValue, boolValue, dataValue, objectLinkValue, sum, time, updateTime
        /// An unknown label: ignored.
        case unknown
        /// An unknown label ending in `_`: must be understood, so the pack is rejected (RFC 8428 section 4.4).
        case mustUnderstand
    }

    /// A value as the pack wrote it, before typing.
    enum RawValue {
        case integer(Int64)
        case unsigned(UInt64)
        case float(Double)
        case string(WireString)
        case bool(Bool)
        case data([UInt8])
        case objectLink(WireString)
    }

    /// The fields of one record.
    struct Fields {
        var seen: UInt32 = 0
        var baseName: WireString?
        var baseTime: Double?
        var baseValue: Double?
        var name: WireString?
        var value: RawValue?
        var time: Double?

        /// Marks `label` as seen; `false` when it was already there or a second value label appears.
        @inline(__always)
        mutating func see(_ label: Label) -> Bool {
            let bit: UInt32
            switch label {
            case .value, .stringValue, .boolValue, .dataValue, .objectLinkValue: bit = 1
            case .baseName: bit = 2
            case .baseTime: bit = 4
            case .baseValue: bit = 8
            case .name: bit = 16
            case .time: bit = 32
            case .baseVersion: bit = 64
            default: return true
            }
            if seen & bit != 0 { return false }
            seen |= bit
            return true
        }
    }

    let input: UnsafeRawBufferPointer
    /// The path parser after the current base name (fed once per base name, copied for every record).
    private var baseParser = LwM2MPathTextParser()
    private var baseOK = true
    private var hasBaseName = false
    private var baseTime: Double?
    private var baseValue: Double?

    init(_ input: UnsafeRawBufferPointer) {
        self.input = input
    }

    /// Resolves one record and hands it to `sink` (whose answer it returns): the base fields it carries apply to it
    /// and to later records.
    @inline(__always)
    mutating func resolve<Sink: LwM2MRecordSink>(
        _ fields: borrowing Fields, at offset: Int, into sink: inout Sink
    ) throws(LwM2MCodecError) -> Bool {
        if let bn = fields.baseName {
            var parser = LwM2MPathTextParser()
            baseOK = bn.forEachByte(in: input) { parser.feed($0) }
            baseParser = parser
            hasBaseName = true
        }
        if let bt = fields.baseTime { baseTime = bt }
        if let bv = fields.baseValue { baseValue = bv }
        var parser = baseParser
        var ok = baseOK
        if ok, let n = fields.name { ok = n.forEachByte(in: input) { parser.feed($0) } }
        guard ok, hasBaseName || fields.name != nil, let path = parser.finish() else {
            throw LwM2MCodecError(
                code: .invalidPath, reason: "record name is not an LwM2M path", offset: offset)
        }
        var timestamp: Double? = nil
        if baseTime != nil || fields.time != nil { timestamp = (baseTime ?? 0) + (fields.time ?? 0) }
        guard let raw = fields.value else { return sink.add(path, nil, timestamp: timestamp) }
        let value: LwM2MValue
        switch raw {
        case .integer(let i):
            if let bv = baseValue { value = .float(bv + Double(i)) } else { value = .integer(i) }
        case .unsigned(let u):
            if let bv = baseValue { value = .float(bv + Double(u)) } else { value = .unsignedInteger(u) }
        case .float(let d):
            value = .float((baseValue ?? 0) + d)
        case .string(let s):
            guard let text = s.string(in: input) else {
                throw LwM2MCodecError(code: .malformed, reason: "string value is not UTF-8", offset: offset, path: path)
            }
            value = .string(text)
        case .bool(let b):
            value = .boolean(b)
        case .data(let d):
            value = .opaque(d)
        case .objectLink(let s):
            guard let text = s.string(in: input), let link = LwM2MObjectLink(parsing: text) else {
                throw LwM2MCodecError(
                    code: .typeMismatch, reason: "vlo is not an object link \"o:i\"", offset: offset, path: path)
            }
            value = .objectLink(link)
        }
        return sink.add(path, value, timestamp: timestamp)
    }
}

extension LwM2MRecord {
    /// Types the values of `records` by `definitions` (records without a value, or of unknown resources, stay as
    /// they are); used by every record decoder. Looks each object definition up once per run of records.
    static func typedRecords(
        _ records: [LwM2MRecord], definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> [LwM2MRecord] {
        guard let definitions else { return records }
        var out = records
        var cachedID: UInt16? = nil
        var cached: LwM2MObjectDefinition? = nil
        for k in out.indices {
            let r = out[k]
            guard let value = r.value, let o = r.path.objectID, let rid = r.path.resourceID else { continue }
            if cachedID != o {
                cached = definitions.objectDefinition(o, version: nil)
                cachedID = o
            }
            guard let def = cached?.typeAndMultiplicity(of: rid), def.type != .none else { continue }
            guard let v = value.coerced(to: def.type) else {
                throw LwM2MCodecError(
                    code: .typeMismatch, reason: "\(value.type.rawValue) value does not fit \(def.type.rawValue) resource",
                    path: r.path)
            }
            out[k].value = v
        }
        return out
    }
}
