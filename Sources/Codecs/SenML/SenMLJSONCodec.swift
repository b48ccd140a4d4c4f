public import LwM2MModel

/// SenML JSON (`application/senml+json`, Content-Format 110; RFC 8428 with the LwM2M rules of Core TS 1.1.1
/// section 7.4.4/7.4.5).
///
/// Names are LwM2M paths: a record's full name is its base name followed by its name (`"bn":"/3/0/"`,
/// `"n":"9"`). Values use `v` (numbers: Integer, Unsigned Integer, Float, Time), `vs` (String, Corelnk), `vb`
/// (Boolean), `vd` (Opaque, base64url without padding) and `vlo` (Objlnk, `"3:0"`). Time stamps come from `bt`
/// plus `t`; resolved times below 2^28 are relative to "now" per RFC 8428 and are returned as written (the caller
/// owns the clock).
///
/// Decoding types numbers by the resource definitions. For a resource the definitions do not know, the value keeps
/// the type the pack carries: an integer literal stays `.integer` (or `.unsignedInteger` above `Int64.max`), a
/// number with a fraction or exponent stays `.float`, `vs` stays `.string`; nothing is guessed.
public enum SenMLJSONCodec {
    /// Appends the pack for `node` at `path` to `out`.
    ///
    /// Writes what `encode(records:into:)` writes for the node's records (base name `/o/i/` on the first record of
    /// each instance, names `r` or `r/ri`, no time), walking the node directly. When it throws, `out` is left as it
    /// was.
    public static func encode(_ node: LwM2MNode, at path: LwM2MPath, into out: inout [UInt8]) throws(LwM2MCodecError) {
        try LwM2MNodeWalk.check(node, at: path)
        let start = out.count
        var writer = NodeWriter(path)
        // One pass: each resource's bound is computed just before it is written, and writing stops at a resource
        // that does not fit the reservation, to resume in a bigger one. The first reservation is the array's spare
        // capacity or a typical size for the node, so a reused buffer or a usual node takes one reservation.
        var reserve = Swift.max(out.capacity &- start, NodeWriter.typicalSize(node))
        do throws(LwM2MCodecError) {
            while true {
                var need = 0
                try out.appendBounded(reserve) { (c: inout ByteCursor) throws(LwM2MCodecError) in
                    need = try writer.write(node, into: &c)
                }
                if need == 0 { return }
                reserve = Swift.max(need, 2 &* (out.count &- start))
            }
        } catch {
            out.removeSubrange(start...)
            throw error
        }
    }

    /// The most bytes one record of a node takes (no `bt`): `,{"bn":"/65534/65534/","n":"65534/65534",` (41), the
    /// value label and a number or link (at most 36), `}` and the pack's closing `]`, and the value's string or
    /// bytes.
    @inline(__always)
    static func nodeRecordBound(_ value: borrowing LwM2MValue) -> Int {
        scalarRecordBound &+ payloadBound(value)
    }

    /// `nodeRecordBound` of a value with no string or bytes (a number, boolean or object link).
    static let scalarRecordBound = 80

    /// Writes a node's records: `[`, whole resources while they fit the reservation (the base name when the
    /// instance changes, the name, the value), then `]`. Resumes where it stopped when called again.
    ///
    /// Speed: an instance's resources are written by one function that reads each value in place, without copying
    /// it (no retain or release, no outlined enum copy). That holds only while nothing between reading a value and
    /// writing its last byte calls code the optimizer cannot see through (a memory-copy call, a `String`
    /// conversion, a non-inlined writer); so integers, booleans, links and contiguous strings are written inline
    /// (`hotRecord`), and a resource holding anything else (a float, opaque bytes, a bridged string) is written by
    /// `coldRecords`, which looks the resource up again by index.
    private struct NodeWriter {
        /// The identifiers the node's path gives (those the node does not carry itself).
        private let object: UInt16
        private let instanceID: UInt16
        private let resourceID: UInt16
        private var opened = false
        /// The instance of the last base name written, -1 before any.
        private var baseInstance: Int32 = -1
        /// Where writing resumes.
        private var nextInstance = 0
        private var nextResource = 0

        init(_ path: LwM2MPath) {
            object = path.objectID ?? 0
            instanceID = path.instanceID ?? 0
            resourceID = path.resourceID ?? 0
        }

        /// A reservation that holds a usual node of this shape (about 64 bytes per resource).
        static func typicalSize(_ node: borrowing LwM2MNode) -> Int {
            switch node {
            case .object(let o):
                var resources = 0
                for k in o.instances.indices { resources &+= o.instances[k].resources.count }
                return 2 &+ 64 &* resources
            case .objectInstance(let i): return 2 &+ 64 &* i.resources.count
            case .resource, .resourceInstance: return 128
            }
        }

        /// Writes what fits in `c`; returns 0 once the pack is complete, else the bytes the next resource needs
        /// (more than `c` has left).
        mutating func write(_ node: borrowing LwM2MNode, into c: inout ByteCursor) throws(LwM2MCodecError) -> Int {
            if !opened {
                c.require(2)  // every reservation holds at least `[` and `]`
                c.append(0x5B)
                opened = true
            }
            switch node {
            case .object(let o):
                while nextInstance < o.instances.count {
                    let k = nextInstance
                    let id = o.instances[k].id
                    if id == LwM2MNodeWalk.absent { throw absentID(.object(o.id)) }
                    let need = try instance(o.instances[k], object: o.id, into: &c)
                    if need != 0 { return need }
                    nextInstance = k &+ 1
                    nextResource = 0
                }
            case .objectInstance(let i):
                let need = try instance(i, object: object, into: &c)
                if need != 0 { return need }
            case .resource(let r):
                if nextResource == 0 {
                    let need = try resource(r, object: object, instance: instanceID, from: 0, into: &c)
                    if need != 0 { return need }
                    nextResource = 1
                }
            case .resourceInstance(let ri):
                if nextResource == 0 {
                    let need = nodeRecordBound(ri.value)
                    if need > c.remaining { return need }
                    try record(object, instanceID, resourceID, ri.id, ri.value, into: &c)
                    nextResource = 1
                }
            }
            c.append(0x5D)  // each record's bound leaves room for it
            return 0
        }

        /// Writes the instance's resources from `nextResource` while they fit; returns 0 when all are written,
        /// else the bytes the next one needs.
        @inline(never)
        mutating func instance(
            _ i: borrowing LwM2MObjectInstance, object o: UInt16, into c: inout ByteCursor
        ) throws(LwM2MCodecError) -> Int {
            // Indexing (not a `for in` iterator) reads each resource in place.
            var k = nextResource
            while k < i.resources.count {
                let id = i.resources[k].id
                if id == LwM2MNodeWalk.absent { throw absentID(.instance(o, i.id)) }
                var cold = -1
                switch i.resources[k].content {
                case .single(let v):
                    let need = nodeRecordBound(v)
                    if need > c.remaining {
                        nextResource = k
                        return need
                    }
                    if !hotRecord(o, i.id, id, nil, v, into: &c) { cold = 0 }
                case .multiple(let instances):
                    // Inline instances read packed, else the array's read in place: (-1, _) an absent ID,
                    // (need > 0, _) they do not fit, else (0, the first record `hotRecord` declined or -1).
                    let iid = i.id
                    let (need, declined) = if let packed = instances.packed {
                        packedRecords(o, iid, id, packed, into: &c)
                    } else {
                        instances.withUnsafeBufferPointer { ris -> (Int, Int) in
                            var need = 0
                            var absent = false
                            for x in ris.indices {
                                need &+= nodeRecordBound(ris[x].value)
                                if ris[x].id == LwM2MNodeWalk.absent { absent = true }
                            }
                            if absent { return (-1, -1) }
                            if need > c.remaining { return (need, -1) }
                            for x in ris.indices where !hotRecord(o, iid, id, ris[x].id, ris[x].value, into: &c) {
                                return (0, x)
                            }
                            return (0, -1)
                        }
                    }
                    if need < 0 { throw absentID(.resource(o, iid, id)) }
                    if need > 0 {
                        nextResource = k
                        return need
                    }
                    cold = declined
                }
                // Whatever `hotRecord` declined, from its record on; no value of this resource is held here.
                if cold >= 0 { try coldRecords(i, k, object: o, from: cold, into: &c) }
                k &+= 1
            }
            nextResource = k
            return 0
        }

        @inline(never)
        private mutating func coldRecords(
            _ i: borrowing LwM2MObjectInstance, _ k: Int, object o: UInt16, from first: Int, into c: inout ByteCursor
        ) throws(LwM2MCodecError) {
            _ = try resource(i.resources[k], object: o, instance: i.id, from: first, into: &c)
        }

        /// Writes the records of `r` from its `first` one if they fit (returns 0), else nothing (returns the bytes
        /// they need). Any value; copies are fine here.
        private mutating func resource(
            _ r: borrowing LwM2MResource, object o: UInt16, instance i: UInt16, from first: Int,
            into c: inout ByteCursor
        ) throws(LwM2MCodecError) -> Int {
            switch r.content {
            case .single(let v):
                let need = nodeRecordBound(v)
                if need > c.remaining { return need }
                try record(o, i, r.id, nil, v, into: &c)
            case .multiple(let instances):
                var need = 0
                for k in first..<instances.count { need &+= nodeRecordBound(instances[k].value) }
                if need > c.remaining { return need }
                for k in first..<instances.count {
                    let id = instances[k].id
                    if id == LwM2MNodeWalk.absent { throw absentID(.resource(o, i, r.id)) }
                    try record(o, i, r.id, id, instances[k].value, into: &c)
                }
            }
            return 0
        }

        /// The records of a multiple resource's inline instances, as the `.multiple` case of `instance` writes
        /// them from a buffer: (-1, _) an absent ID, (need > 0, _) they do not fit, else (0, the first record
        /// `hotPacked` declined or -1).
        @inline(__always)
        private mutating func packedRecords(
            _ o: UInt16, _ i: UInt16, _ r: UInt16, _ packed: LwM2MPackedInstances, into c: inout ByteCursor
        ) -> (Int, Int) {
            let n = packed.count
            for x in 0..<n where packed.id(x) == LwM2MNodeWalk.absent { return (-1, -1) }
            let need = n &* scalarRecordBound
            if need > c.remaining { return (need, -1) }
            for x in 0..<n where !hotPacked(o, i, r, packed, x, into: &c) { return (0, x) }
            return (0, -1)
        }

        /// One record of inline slot `x`, as `hotRecord` writes its unpacked value; `false` (nothing written) for
        /// a float.
        @inline(__always)
        private mutating func hotPacked(
            _ o: UInt16, _ i: UInt16, _ r: UInt16, _ packed: LwM2MPackedInstances, _ x: Int, into c: inout ByteCursor
        ) -> Bool {
            c.require(scalarRecordBound)
            switch packed.kind(x) {
            case .integer, .time:
                header(o, i, r, packed.id(x), into: &c)
                c.append(#""v":"#)
                JSONWriter.int(packed.signed(x), into: &c)
            case .unsignedInteger:
                header(o, i, r, packed.id(x), into: &c)
                c.append(#""v":"#)
                JSONWriter.uint(UInt64(packed.bits(x)), into: &c)
            case .boolean:
                header(o, i, r, packed.id(x), into: &c)
                if packed.bits(x) != 0 { c.append(#""vb":true"#) } else { c.append(#""vb":false"#) }
            case .objectLink:
                header(o, i, r, packed.id(x), into: &c)
                c.append(#""vlo":""#)
                LwM2MPathText.append(packed.objectLink(x), into: &c)
                c.append(0x22)
            case .float:
                return false
            }
            c.append(0x7D)
            return true
        }

        /// `,` between records, then `{"bn":"/o/i/","n":"r/ri",` (`bn` only when the instance changed).
        @inline(__always)
        private mutating func header(_ o: UInt16, _ i: UInt16, _ r: UInt16, _ ri: UInt16?, into c: inout ByteCursor) {
            if baseInstance >= 0 { c.append(0x2C) }
            if baseInstance != Int32(i) {
                baseInstance = Int32(i)
                c.append(#"{"bn":"/"#)
                LwM2MPathText.appendDigits(o, into: &c)
                c.append(0x2F)
                LwM2MPathText.appendDigits(i, into: &c)
                c.append(#"/","n":""#)
            } else {
                c.append(#"{"n":""#)
            }
            LwM2MPathText.appendDigits(r, into: &c)
            if let ri {
                c.append(0x2F)
                LwM2MPathText.appendDigits(ri, into: &c)
            }
            c.append(#"","#)
        }

        /// One record, if its value is written inline (everything but floats, opaque bytes and strings without
        /// contiguous UTF-8); `false`, having written nothing, otherwise.
        @inline(__always)
        private mutating func hotRecord(
            _ o: UInt16, _ i: UInt16, _ r: UInt16, _ ri: UInt16?, _ value: borrowing LwM2MValue,
            into c: inout ByteCursor
        ) -> Bool {
            c.require(nodeRecordBound(value))
            switch value {
            case .integer(let x), .time(let x):
                header(o, i, r, ri, into: &c)
                c.append(#""v":"#)
                JSONWriter.int(x, into: &c)
            case .string(let s), .coreLink(let s):
                let written: Void? = s.utf8.withContiguousStorageIfAvailable { utf8 in
                    header(o, i, r, ri, into: &c)
                    c.append(#""vs":"#)
                    JSONWriter.string(utf8, into: &c)
                }
                if written == nil { return false }
            case .unsignedInteger(let u):
                header(o, i, r, ri, into: &c)
                c.append(#""v":"#)
                JSONWriter.uint(u, into: &c)
            case .boolean(let b):
                header(o, i, r, ri, into: &c)
                if b { c.append(#""vb":true"#) } else { c.append(#""vb":false"#) }
            case .objectLink(let link):
                header(o, i, r, ri, into: &c)
                c.append(#""vlo":""#)
                LwM2MPathText.append(link, into: &c)
                c.append(0x22)
            case .float, .opaque:
                return false
            }
            c.append(0x7D)
            return true
        }

        /// One record of any value.
        private mutating func record(
            _ o: UInt16, _ i: UInt16, _ r: UInt16, _ ri: UInt16?, _ value: borrowing LwM2MValue,
            into c: inout ByteCursor
        ) throws(LwM2MCodecError) {
            c.require(nodeRecordBound(value))
            header(o, i, r, ri, into: &c)
            // The path is only used for an error (a non-finite float).
            try writeValue(
                value, path: ri.map { LwM2MPath.resourceInstance(o, i, r, $0) } ?? .resource(o, i, r), into: &c)
            c.append(0x7D)
        }
    }

    /// Appends the pack for `records` (resource values, time series, or value-less records naming paths as in a
    /// Read-Composite request) to `out`, in the given order.
    public static func encode(records: [LwM2MRecord], into out: inout [UInt8]) throws(LwM2MCodecError) {
        var bound = 2
        for r in records { bound += recordBound(r.value) }
        try out.appendBounded(bound) { (c: inout ByteCursor) throws(LwM2MCodecError) in
            var plan = SenMLRecordPlan()
            c.append(0x5B)
            var first = true
            for r in records {
                guard r.path.depth > 0 else {
                    throw LwM2MCodecError(code: .invalidPath, reason: "a SenML record cannot name /", path: r.path)
                }
                c.require(recordBound(r.value))
                try writeRecord(r.path, r.value, r.timestamp, plan: &plan, first: &first, into: &c)
            }
            c.append(0x5D)
        }
    }

    /// The most bytes one record takes: punctuation, `bn` and `n` (at most 13 and 11 characters), `bt` and a
    /// number (at most `JSONWriter.maxNumberLength` each), the value label and the value's string.
    @inline(__always)
    static func recordBound(_ value: LwM2MValue?) -> Int {
        128 + (value.map(payloadBound) ?? 0)
    }

    /// The most bytes a value's string or bytes take in JSON (escaped text, base64).
    @inline(__always)
    static func payloadBound(_ value: borrowing LwM2MValue) -> Int {
        switch value {
        case .string(let s), .coreLink(let s): return JSONWriter.maxStringLength(s.utf8.count)
        case .opaque(let bytes): return JSONBase64.encodedLength(bytes.count, padding: true)
        default: return 0
        }
    }

    @inline(__always)
    private static func writeRecord(
        _ path: LwM2MPath, _ value: LwM2MValue?, _ timestamp: Double?, plan: inout SenMLRecordPlan,
        first: inout Bool, into out: inout ByteCursor
    ) throws(LwM2MCodecError) {
        if !first { out.append(0x2C) }
        first = false
        let f = plan.plan(path, timestamp: timestamp)
        out.append(0x7B)
        var comma = false
        if f.writeBase {
            JSONWriter.raw("\"bn\":\"", into: &out)
            LwM2MPathText.append(
                path, from: 0, to: f.baseDepth, leadingSlash: true, trailingSlash: f.baseSlash, into: &out)
            out.append(0x22)
            comma = true
        }
        if let bt = f.writeBaseTime {
            if comma { out.append(0x2C) }
            JSONWriter.raw("\"bt\":", into: &out)
            try writeNumber(bt, integral: true, path: path, into: &out)
            comma = true
        }
        if f.writeName {
            if comma { out.append(0x2C) }
            JSONWriter.raw("\"n\":\"", into: &out)
            LwM2MPathText.append(
                path, from: f.baseDepth, to: path.depth, leadingSlash: false, trailingSlash: false, into: &out)
            out.append(0x22)
            comma = true
        }
        if let value {
            if comma { out.append(0x2C) }
            try writeValue(value, path: path, into: &out)
        }
        out.append(0x7D)
    }

    @inline(__always)
    private static func writeNumber(
        _ d: Double, integral: Bool, path: LwM2MPath, into out: inout ByteCursor
    ) throws(LwM2MCodecError) {
        if integral, let i = Int64(exactly: d) {
            JSONWriter.int(i, into: &out)
        } else if !JSONWriter.double(d, into: &out) {
            throw LwM2MCodecError(code: .notAcceptable, reason: "JSON cannot carry \(d)", path: path)
        }
    }

    /// Writes a value's label and value. Numbers, strings, booleans and links are written inline; floats and
    /// opaque bytes out of line.
    @inline(__always)
    static func writeValue(
        _ value: borrowing LwM2MValue, path: LwM2MPath, into out: inout ByteCursor
    ) throws(LwM2MCodecError) {
        switch value {
        case .integer(let i), .time(let i):
            out.append(#""v":"#)
            JSONWriter.int(i, into: &out)
        case .string(let s), .coreLink(let s):
            out.append(#""vs":"#)
            JSONWriter.string(s, into: &out)
        case .unsignedInteger(let u):
            out.append(#""v":"#)
            JSONWriter.uint(u, into: &out)
        case .float(let d):
            try writeFloat(d, path: path, into: &out)
        case .boolean(let b):
            if b { out.append(#""vb":true"#) } else { out.append(#""vb":false"#) }
        case .opaque(let bytes):
            writeOpaque(bytes, into: &out)
        case .objectLink(let link):
            out.append(#""vlo":""#)
            LwM2MPathText.append(link, into: &out)
            out.append(0x22)
        }
    }

    /// The error for a child that holds the reserved identifier 65535.
    @inline(never)
    private static func absentID(_ parent: LwM2MPath) -> LwM2MCodecError {
        LwM2MCodecError(
            code: .invalidPath, reason: "identifier \(LwM2MNodeWalk.absent) is not valid below \(parent)", path: parent)
    }

    @inline(never)
    private static func writeFloat(_ d: Double, path: LwM2MPath, into out: inout ByteCursor) throws(LwM2MCodecError) {
        out.append(#""v":"#)
        try writeNumber(d, integral: false, path: path, into: &out)
    }

    @inline(never)
    private static func writeOpaque(_ bytes: [UInt8], into out: inout ByteCursor) {
        out.append(#""vd":""#)
        JSONBase64.encode(bytes, urlSafe: true, padding: false, into: &out)
        out.append(0x22)
    }

    /// Decodes the node at `path` (values typed by `definitions`); every record must lie within `path` and carry a
    /// value, and no path may repeat.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> LwM2MNode {
        var storage = LwM2MNodeStorage()
        return try decode(bytes, at: path, definitions: definitions, reusing: &storage)
    }

    /// Decodes like ``decode(_:at:definitions:)`` into the arrays of `storage` (not marked for inlining: inlined,
    /// the fast reader's loop ran about 400 instructions slower).
    static func decode(
        _ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?,
        reusing storage: inout LwM2MNodeStorage
    ) throws(LwM2MCodecError) -> LwM2MNode {
        // The fast reader first (straight into the node, else into records); the strict reader for anything it
        // does not take, so errors are reported as they always were.
        if var builder = LwM2MNodeBuilder.outOfLine(at: path, definitions: definitions, reusing: &storage) {
            var fast = SenMLJSONFastReader(bytes)
            switch fast.read(into: &builder) {
            case .done:
                if let node = builder.finish() { return node }
            case .declined:
                break
            case .unsupported:
                return try SenMLPackReader.decodeNode(
                    Syntax(bytes), at: path, definitions: definitions, reusing: &storage)
            }
        }
        var fast = SenMLJSONFastReader(bytes)
        var collector = LwM2MRecordCollector()
        guard fast.read(into: &collector) == .done else {
            return try SenMLPackReader.decodeNode(
                Syntax(bytes), at: path, definitions: definitions, reusing: &storage)
        }
        return try LwM2MNode(records: collector.records, at: path, definitions: definitions)
    }

    /// Decodes every record of the pack, in order, with resolved paths and time stamps (values typed by
    /// `definitions` where known; value-less records are kept).
    public static func decodeRecords(
        _ bytes: UnsafeRawBufferPointer, definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> [LwM2MRecord] {
        var fast = SenMLJSONFastReader(bytes)
        var collector = LwM2MRecordCollector()
        guard fast.read(into: &collector) == .done else {
            return try SenMLPackReader.decodeRecords(Syntax(bytes), definitions: definitions)
        }
        return try LwM2MRecord.typedRecords(collector.records, definitions: definitions)
    }

    private static func label(_ key: WireString, in input: UnsafeRawBufferPointer) -> SenMLResolver.Label {
        switch key.count {
        case 1:
            if key.equals("n", in: input) { return .name }
            if key.equals("v", in: input) { return .value }
            if key.equals("t", in: input) { return .time }
            if key.equals("u", in: input) { return .unit }
            if key.equals("s", in: input) { return .sum }
        case 2:
            if key.equals("bn", in: input) { return .baseName }
            if key.equals("vs", in: input) { return .stringValue }
            if key.equals("bt", in: input) { return .baseTime }
            if key.equals("vb", in: input) { return .boolValue }
            if key.equals("vd", in: input) { return .dataValue }
            if key.equals("bu", in: input) { return .baseUnit }
            if key.equals("bv", in: input) { return .baseValue }
            if key.equals("bs", in: input) { return .baseSum }
            if key.equals("ut", in: input) { return .updateTime }
        case 3:
            if key.equals("vlo", in: input) { return .objectLinkValue }
        case 4:
            if key.equals("bver", in: input) { return .baseVersion }
        default:
            break
        }
        let last: UInt8
        switch key {
        case .span(_, let e): last = key.count > 0 ? input[e - 1] : 0
        case .owned(let a): last = a.last ?? 0
        }
        return last == 0x5F ? .mustUnderstand : .unknown
    }

    /// SenML JSON's syntax for the shared pack reader.
    struct Syntax: SenMLSyntax {
        private var reader: JSONReader
        private var firstRecord = true
        private var firstLabel = true

        init(_ bytes: UnsafeRawBufferPointer) { reader = JSONReader(bytes) }

        var input: UnsafeRawBufferPointer { reader.input }
        var offset: Int { reader.offset }

        mutating func beginPack() throws(LwM2MCodecError) -> Int? {
            try reader.expect(0x5B)
            return nil
        }

        @inline(__always)
        mutating func nextRecord() throws(LwM2MCodecError) -> Bool {
            if firstRecord {
                firstRecord = false
                if try reader.consume(0x5D) { return false }
            } else if try !reader.nextElement(close: 0x5D) {
                return false
            }
            _ = try reader.peek()
            return true
        }

        @inline(__always)
        mutating func beginRecord() throws(LwM2MCodecError) {
            try reader.expect(0x7B)
            firstLabel = true
        }

        @inline(__always)
        mutating func nextLabel() throws(LwM2MCodecError) -> (label: SenMLResolver.Label, offset: Int)? {
            if firstLabel {
                firstLabel = false
                if try reader.consume(0x7D) { return nil }
            } else if try !reader.nextElement(close: 0x7D) {
                return nil
            }
            let keyOffset = reader.offset
            let key = try reader.readString()
            try reader.expect(0x3A)
            return (label(key, in: reader.input), keyOffset)
        }

        @inline(__always)
        mutating func beginValue() throws(LwM2MCodecError) {
            _ = try reader.peek()
        }

        @inline(__always)
        mutating func text() throws(LwM2MCodecError) -> WireString {
            try SenMLJSONCodec.string(&reader)
        }

        @inline(__always)
        mutating func number() throws(LwM2MCodecError) -> JSONReader.Number {
            try SenMLJSONCodec.number(&reader)
        }

        mutating func bool() throws(LwM2MCodecError) -> Bool {
            let c = try reader.peek()
            guard c == 0x74 || c == 0x66 else {
                throw WireError.typeMismatch(reader.offset, "vb must be true or false")
            }
            return try reader.readBool()
        }

        mutating func data() throws(LwM2MCodecError) -> [UInt8] {
            let valueOffset = reader.offset
            guard let data = JSONBase64.decode(try SenMLJSONCodec.string(&reader), in: reader.input) else {
                throw WireError.malformed(valueOffset, "vd is not base64url")
            }
            return data
        }

        mutating func skipValue() throws(LwM2MCodecError) {
            try reader.skipValue(depth: 2)
        }

        mutating func finish() throws(LwM2MCodecError) {
            // The record loop ends on the closing bracket.
            try reader.finish()
        }
    }

    @inline(__always)
    private static func string(_ reader: inout JSONReader) throws(LwM2MCodecError) -> WireString {
        guard try reader.peek() == 0x22 else { throw WireError.typeMismatch(reader.offset, "expected a string") }
        return try reader.readString()
    }

    @inline(__always)
    private static func number(_ reader: inout JSONReader) throws(LwM2MCodecError) -> JSONReader.Number {
        let c = try reader.peek()
        guard c == 0x2D || (c >= 0x30 && c <= 0x39) else {
            throw WireError.typeMismatch(reader.offset, "expected a number")
        }
        return try reader.readNumber()
    }
}
