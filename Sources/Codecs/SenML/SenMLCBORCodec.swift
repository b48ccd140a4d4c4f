public import LwM2MModel

/// SenML CBOR (`application/senml+cbor`, Content-Format 112; RFC 8428 section 6 with the LwM2M rules of Core TS
/// 1.1.1 section 7.4.5).
///
/// Same data model as `SenMLJSONCodec` with CBOR's integer labels (bn -2, bt -3, n 0, v 2, vs 3, vb 4, t 6, vd 8)
/// and the text label `"vlo"` for Objlnk. Opaque values are byte strings; floats are written in the shortest exact
/// form. Decoding accepts definite and indefinite lengths for the pack, its records and strings.
public enum SenMLCBORCodec {
    /// Appends the pack for `node` at `path` to `out`.
    public static func encode(_ node: LwM2MNode, at path: LwM2MPath, into out: inout [UInt8]) throws(LwM2MCodecError) {
        try LwM2MNodeWalk.check(node, at: path)
        let size = LwM2MNodeWalk.measure(node, nodeRecordBound)
        try out.appendBounded(CBORWriter.maxHeadSize + size.bound) { (c: inout ByteCursor) throws(LwM2MCodecError) in
            CBORWriter.arrayHeader(size.count, into: &c)
            // Every record names a resource or resource instance below its instance: what `SenMLRecordPlan` writes
            // for such records (a base name `/o/i/` when the instance changes, then `n` = `r` or `r/ri`), without
            // building each record's path.
            var base = NodeBase()
            switch node {
            // Indexing reads each instance and resource in place (an iterator copies them).
            case .object(let o):
                for x in o.instances.indices {
                    let ip = try LwM2MNodeWalk.child(path, o.instances[x].id)
                    for k in o.instances[x].resources.indices {
                        try writeResource(o.instances[x].resources[k], ip, &base, into: &c)
                    }
                }
            case .objectInstance(let i):
                for k in i.resources.indices { try writeResource(i.resources[k], path, &base, into: &c) }
            case .resource(let r):
                try writeContent(r, path, &base, into: &c)
            case .resourceInstance(let ri):
                c.require(nodeRecordBound(ri.value))
                writeNodeRecord(path.objectID!, path.instanceID!, path.resourceID!, ri.id, ri.value, &base, into: &c)
            }
        }
    }

    /// The instance whose base name was written last (`UInt32.max`: none yet).
    private struct NodeBase {
        var object: UInt32 = .max
        var instance: UInt32 = .max
    }

    /// The most bytes one record of a node takes: map head 1, `bn` 2 + 13 (`/65534/65534/`), `n` 2 + 11
    /// (`65534/65534`), the value label 4 (`"vlo"`) and the value.
    @inline(__always)
    private static func nodeRecordBound(_ value: LwM2MValue) -> Int {
        33 + CBORValueCodec.maxSize(value)
    }

    /// Writes the records of resource `r` of the instance at `instancePath`.
    @inline(__always)
    private static func writeResource(
        _ r: borrowing LwM2MResource, _ instancePath: LwM2MPath, _ base: inout NodeBase, into out: inout ByteCursor
    ) throws(LwM2MCodecError) {
        try writeContent(r, try LwM2MNodeWalk.child(instancePath, r.id), &base, into: &out)
    }

    /// Writes the records of resource `r` at `path` (a resource path).
    @inline(__always)
    private static func writeContent(
        _ r: borrowing LwM2MResource, _ path: LwM2MPath, _ base: inout NodeBase, into out: inout ByteCursor
    ) throws(LwM2MCodecError) {
        let o = path.objectID!
        let i = path.instanceID!
        switch r.content {
        case .single(let v):
            out.require(nodeRecordBound(v))
            writeNodeRecord(o, i, r.id, nil, v, &base, into: &out)
        case .multiple(let instances):
            if let packed = instances.packed {
                for k in 0..<packed.count {
                    let ri = packed.id(k)
                    if ri == LwM2MNodeWalk.absent { _ = try LwM2MNodeWalk.child(path, ri) }  // the walk's error
                    out.require(33 &+ CBORValueCodec.packedMaxSize)
                    writeNodeHead(o, i, r.id, ri, &base, into: &out)
                    writePackedValue(packed, k, into: &out)
                }
                return
            }
            try instances.withUnsafeBufferPointer { (ris) throws(LwM2MCodecError) in
                for ri in ris {
                    if ri.id == LwM2MNodeWalk.absent { _ = try LwM2MNodeWalk.child(path, ri.id) }  // the walk's error
                    out.require(nodeRecordBound(ri.value))
                    writeNodeRecord(o, i, r.id, ri.id, ri.value, &base, into: &out)
                }
            }
        }
    }

    /// One record of a node: `{-2: "/o/i/", 0: "r/ri", label: value}`, the base name only when the instance
    /// changed.
    @inline(__always)
    private static func writeNodeRecord(
        _ o: UInt16, _ i: UInt16, _ r: UInt16, _ ri: UInt16?, _ value: LwM2MValue, _ base: inout NodeBase,
        into out: inout ByteCursor
    ) {
        writeNodeHead(o, i, r, ri, &base, into: &out)
        writeValue(value, into: &out)
    }

    /// A node record up to its value label: the map head, the base name when the instance changed, the name.
    @inline(__always)
    private static func writeNodeHead(
        _ o: UInt16, _ i: UInt16, _ r: UInt16, _ ri: UInt16?, _ base: inout NodeBase, into out: inout ByteCursor
    ) {
        let writeBase = UInt32(o) != base.object || UInt32(i) != base.instance
        if writeBase {
            base.object = UInt32(o)
            base.instance = UInt32(i)
            out.append(0xA3)
            out.append(0x21)  // -2
            out.append(0x60 | UInt8(truncatingIfNeeded: 3 + LwM2MPathText.digitCount(o) + LwM2MPathText.digitCount(i)))
            out.append(0x2F)
            LwM2MPathText.appendDigits(o, into: &out)
            out.append(0x2F)
            LwM2MPathText.appendDigits(i, into: &out)
            out.append(0x2F)
        } else {
            out.append(0xA2)
        }
        out.append(0x00)
        writeName(r, ri, into: &out)
    }

    /// The text `r` or `r/ri` (a name below an instance's base name), at most 12 bytes.
    @inline(__always)
    private static func writeName(_ r: UInt16, _ ri: UInt16?, into out: inout ByteCursor) {
        if let ri {
            out.append(0x60 | UInt8(truncatingIfNeeded: 1 + LwM2MPathText.digitCount(r) + LwM2MPathText.digitCount(ri)))
            LwM2MPathText.appendDigits(r, into: &out)
            out.append(0x2F)
            LwM2MPathText.appendDigits(ri, into: &out)
        } else {
            out.append(0x60 | UInt8(truncatingIfNeeded: LwM2MPathText.digitCount(r)))
            LwM2MPathText.appendDigits(r, into: &out)
        }
    }

    /// Appends the pack for `records` to `out`, in the given order (value-less records name paths, as in a
    /// Read-Composite request).
    public static func encode(records: [LwM2MRecord], into out: inout [UInt8]) throws(LwM2MCodecError) {
        var bound = CBORWriter.maxHeadSize
        for r in records { bound += recordBound(r.value) }
        try out.appendBounded(bound) { (c: inout ByteCursor) throws(LwM2MCodecError) in
            var plan = SenMLRecordPlan()
            CBORWriter.arrayHeader(records.count, into: &c)
            for r in records {
                guard r.path.depth > 0 else {
                    throw LwM2MCodecError(code: .invalidPath, reason: "a SenML record cannot name /", path: r.path)
                }
                c.require(recordBound(r.value))
                writeRecord(r.path, r.value, r.timestamp, plan: &plan, into: &c)
            }
        }
    }

    /// The most bytes one record takes: its map head, `bn` and `n` (paths of at most 13 and 11 characters), `bt`
    /// (at most 9 bytes), the value label (at most 4 bytes, `"vlo"`) and the value (a head and its string).
    @inline(__always)
    private static func recordBound(_ value: LwM2MValue?) -> Int {
        64 + (value.map(SenMLRecordPlan.payloadLength) ?? 0)
    }

    @inline(__always)
    private static func writeRecord(
        _ path: LwM2MPath, _ value: LwM2MValue?, _ timestamp: Double?, plan: inout SenMLRecordPlan,
        into out: inout ByteCursor
    ) {
        let f = plan.plan(path, timestamp: timestamp)
        var pairs = value == nil ? 0 : 1
        if f.writeBase { pairs += 1 }
        if f.writeBaseTime != nil { pairs += 1 }
        if f.writeName { pairs += 1 }
        CBORWriter.mapHeader(pairs, into: &out)
        if f.writeBase {
            out.append(0x21)  // -2
            writeShortText(into: &out) { (c: inout ByteCursor) in
                LwM2MPathText.append(
                    path, from: 0, to: f.baseDepth, leadingSlash: true, trailingSlash: f.baseSlash, into: &c)
            }
        }
        if let bt = f.writeBaseTime {
            out.append(0x22)  // -3
            writeNumber(bt, into: &out)
        }
        if f.writeName, let r = path.resourceID {
            // A resource or resource instance below its instance's base name: `r` or `r/ri`.
            out.append(0x00)
            writeName(r, path.resourceInstanceID, into: &out)
        } else if f.writeName {
            out.append(0x00)
            writeShortText(into: &out) { (c: inout ByteCursor) in
                LwM2MPathText.append(
                    path, from: f.baseDepth, to: path.depth, leadingSlash: false, trailingSlash: false, into: &c)
            }
        }
        if let value { writeValue(value, into: &out) }
    }

    /// A text string shorter than 24 bytes (a path's text), whose one-byte head is filled in after `body` wrote it.
    @inline(__always)
    private static func writeShortText(into out: inout ByteCursor, _ body: (inout ByteCursor) -> Void) {
        let head = out.count
        out.append(0x60)
        body(&out)
        let length = out.count - head - 1
        precondition(length < 24)
        out.overwrite(at: head, 0x60 | UInt8(truncatingIfNeeded: length))
    }

    /// A time: an integer when integral, else the shortest exact float.
    @inline(__always)
    private static func writeNumber(_ d: Double, into out: inout ByteCursor) {
        if let i = Int64(exactly: d) {
            CBORWriter.int(i, into: &out)
        } else {
            CBORWriter.float(d, into: &out)
        }
    }

    /// The label and value of inline slot `k`, as `writeValue` writes its unpacked value.
    @inline(__always)
    static func writePackedValue(_ packed: LwM2MPackedInstances, _ k: Int, into out: inout ByteCursor) {
        switch packed.kind(k) {
        case .integer, .time, .unsignedInteger, .float: out.append(0x02)
        case .boolean: out.append(0x04)
        case .objectLink: CBORWriter.text("vlo", into: &out)
        }
        CBORValueCodec.writePacked(packed, k, into: &out)
    }

    /// The value label and the value.
    @inline(__always)
    static func writeValue(_ value: LwM2MValue, into out: inout ByteCursor) {
        switch value {
        case .string, .coreLink: out.append(0x03)
        case .integer, .time, .unsignedInteger, .float: out.append(0x02)
        case .boolean: out.append(0x04)
        case .opaque: out.append(0x08)
        case .objectLink: CBORWriter.text("vlo", into: &out)
        }
        CBORValueCodec.write(value, into: &out)
    }

    /// Decodes the node at `path` (values typed by `definitions`); every record must lie within `path` and carry a
    /// value, and no path may repeat.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> LwM2MNode {
        var storage = LwM2MNodeStorage()
        return try decode(bytes, at: path, definitions: definitions, reusing: &storage)
    }

    /// Decodes like ``decode(_:at:definitions:)`` into the arrays of `storage` (inlined into the public decode,
    /// where its empty storage and builder set-up fold away).
    @inline(__always)
    static func decode(
        _ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?,
        reusing storage: inout LwM2MNodeStorage
    ) throws(LwM2MCodecError) -> LwM2MNode {
        if var builder = LwM2MNodeBuilder(at: path, definitions: definitions, reusing: &storage),
            readFast(bytes, into: &builder), let node = builder.finish()
        {
            return node
        }
        return try SenMLPackReader.decodeNode(
            Syntax(bytes), at: path, definitions: definitions, reusing: &storage)
    }

    /// Decodes every record of the pack, in order, with resolved paths and time stamps (values typed by
    /// `definitions` where known; value-less records are kept).
    public static func decodeRecords(
        _ bytes: UnsafeRawBufferPointer, definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> [LwM2MRecord] {
        var collector = LwM2MRecordCollector()
        if readFast(bytes, into: &collector) {
            return try LwM2MRecord.typedRecords(collector.records, definitions: definitions)
        }
        return try SenMLPackReader.decodeRecords(Syntax(bytes), definitions: definitions)
    }

    /// The decoders' fast path: reads a pack in the form LwM2M writers use (labels bn, bt, n, t, v, vs, vb, vd as
    /// one-byte integers, definite-length strings, any array and map lengths) straight from the bytes, with the
    /// fields of a record in plain locals and paths parsed from the text bytes. It returns `false` for anything
    /// else (another label, an indefinite-length string, any error, a record the sink refuses) and the caller then
    /// decodes through `SenMLPackReader`, which gives the same result or reports the error: so this path only
    /// has to accept a subset of what that reader accepts, and produce the same records for it.
    private static func readFast<Sink: LwM2MRecordSink>(
        _ bytes: UnsafeRawBufferPointer, into sink: inout Sink
    ) -> Bool {
        var reader = CBORReader(bytes)
        let input = bytes
        let end = input.count
        // The pack: a definite-length array, or an indefinite one (records left `-1`).
        var records: Int
        if let count = reader.fastContainer(4) {
            records = count
            sink.reserve(count)
        } else if end > 0, input[0] == 0x9F {
            reader.offset = 1
            records = -1
            sink.reserve(min(end / 12, 1024))
        } else {
            return false
        }
        // The resolution state (RFC 8428 section 4.6): the path parser after the current base name, the base time.
        var baseParser = LwM2MPathTextParser()
        var baseOK = true
        var hasBaseName = false
        // The current base name's bytes, and whether `baseParser` has read them yet (only needed for names that
        // are not `r` or `r/ri` below `/o/i/`).
        var baseSpan = (start: 0, end: 0)
        var baseParsed = true
        // The base name's object and instance when it reads `/o/i/` (the form LwM2M writers use), else `nil`.
        var baseInstance: (o: UInt16, i: UInt16)? = nil
        var baseTime: Double? = nil
        while true {
            if records < 0 {
                guard reader.offset < end else { return false }
                if input[reader.offset] == 0xFF {
                    reader.offset += 1
                    break
                }
            } else {
                if records == 0 { break }
                records -= 1
            }
            // The record: a map with a definite length, or an indefinite one (pairs left `-1`).
            var pairs: Int
            if let count = reader.fastContainer(5) {
                pairs = count
            } else if reader.offset < end, input[reader.offset] == 0xBF {
                reader.offset += 1
                pairs = -1
            } else {
                return false
            }
            var seen: UInt32 = 0
            var name: (start: Int, end: Int)? = nil
            var time: Double? = nil
            // The value, kept in plain locals until the record is complete: its label (0: none) and its payload.
            var valueLabel: UInt8 = 0
            var number = JSONReader.Number.integer(0)
            var span = (start: 0, end: 0)
            var flag = false
            while true {
                if pairs < 0 {
                    guard reader.offset < end else { return false }
                    if input[reader.offset] == 0xFF {
                        reader.offset += 1
                        break
                    }
                } else {
                    if pairs == 0 { break }
                    pairs -= 1
                }
                guard reader.offset < end else { return false }
                let label = input[reader.offset]
                reader.offset += 1
                // One dispatch per label. The bits of `SenMLResolver.Fields.see` (1: a value, 2: bn, 4: bt, 16: n,
                // 32: t): a label (or a second value) seen twice goes the slow way.
                switch label {
                case 0x00:  // n
                    guard seen & 16 == 0, let n = reader.fastString(3) else { return false }
                    seen |= 16
                    name = n
                case 0x02:  // v
                    guard seen & 1 == 0, reader.offset < end else { return false }
                    seen |= 1
                    valueLabel = label
                    let b = input[reader.offset]
                    if b < 0x18 {  // an integer 0...23, the most common value: read here
                        reader.offset += 1
                        number = .integer(Int64(b))
                    } else {
                        guard let n = reader.fastNumber() else { return false }
                        number = n
                    }
                case 0x03, 0x08:  // vs, vd
                    guard seen & 1 == 0, let s = reader.fastString(label == 0x03 ? 3 : 2) else { return false }
                    seen |= 1
                    span = s
                    valueLabel = label
                case 0x04:  // vb
                    guard seen & 1 == 0, reader.offset < end, input[reader.offset] | 1 == 0xF5 else { return false }
                    seen |= 1
                    flag = input[reader.offset] == 0xF5
                    reader.offset += 1
                    valueLabel = label
                case 0x21:  // bn
                    guard seen & 2 == 0, let bn = reader.fastString(3) else { return false }
                    seen |= 2
                    hasBaseName = true
                    baseSpan = bn
                    baseInstance = baseInstanceName(input, bn.start, bn.end)
                    baseParsed = false
                case 0x22:  // bt
                    guard seen & 4 == 0, let n = reader.fastNumber() else { return false }
                    seen |= 4
                    baseTime = n.double
                case 0x06:  // t
                    guard seen & 32 == 0, let n = reader.fastNumber() else { return false }
                    seen |= 32
                    time = n.double
                default:
                    return false
                }
            }
            // The record's path: `/o/i/` and `r` or `r/ri` read directly; any other form through the base name's
            // parser fed with the name (a bn in this record applies to it), as `SenMLResolver` does.
            var resolved: LwM2MPath? = nil
            if let base = baseInstance, let name {
                var k = name.start
                // `identifier` reads at most 65534, so the factories' preconditions (no 65535) always hold here.
                if let r = identifier(input, &k, name.end) {
                    if k == name.end {
                        resolved = .resource(base.o, base.i, r)
                    } else if input[k] == 0x2F {
                        k += 1
                        if let ri = identifier(input, &k, name.end), k == name.end {
                            resolved = .resourceInstance(base.o, base.i, r, ri)
                        }
                    }
                }
            }
            if resolved == nil {
                if !baseParsed {
                    // The base name's parser, built once per base name and only for names not read directly.
                    baseParser = LwM2MPathTextParser()
                    baseOK = !hasBaseName
                        || baseParser.feed(pointer(input, baseSpan.start), count: baseSpan.end - baseSpan.start)
                    baseParsed = true
                }
                var parser = baseParser
                guard baseOK, hasBaseName || name != nil else { return false }
                if let name {
                    guard parser.feed(pointer(input, name.start), count: name.end - name.start) else { return false }
                }
                resolved = parser.finish()
            }
            guard let path = resolved else { return false }
            var timestamp: Double? = nil
            if baseTime != nil || time != nil { timestamp = (baseTime ?? 0) + (time ?? 0) }
            let accepted: Bool
            switch valueLabel {
            case 0:
                accepted = sink.add(path, nil, timestamp: timestamp)
            case 0x02:
                switch number {
                case .integer(let i): accepted = sink.add(path, .integer(i), timestamp: timestamp)
                case .unsigned(let u): accepted = sink.add(path, .unsignedInteger(u), timestamp: timestamp)
                // `0 + d`: as the resolver adds the (absent) base value.
                case .float(let d): accepted = sink.add(path, .float(0 + d), timestamp: timestamp)
                }
            case 0x03:
                guard let text = WireString.span(span.start, span.end).string(in: input) else { return false }
                accepted = sink.add(path, .string(text), timestamp: timestamp)
            case 0x04:
                accepted = sink.add(path, .boolean(flag), timestamp: timestamp)
            default:
                let data = [UInt8](UnsafeRawBufferPointer(rebasing: input[span.start..<span.end]))
                accepted = sink.add(path, .opaque(data), timestamp: timestamp)
            }
            guard accepted else { return false }
        }
        return reader.offset == end
    }

    /// The bytes of non-empty `input` from `offset` on.
    @inline(__always)
    private static func pointer(_ input: UnsafeRawBufferPointer, _ offset: Int) -> UnsafePointer<UInt8> {
        UnsafePointer(input.baseAddress!.assumingMemoryBound(to: UInt8.self)) + offset
    }

    /// The object and instance of a base name `/o/i/` (the form LwM2M writers use) at `start..<end`, else `nil`.
    @inline(__always)
    private static func baseInstanceName(
        _ input: UnsafeRawBufferPointer, _ start: Int, _ end: Int
    ) -> (o: UInt16, i: UInt16)? {
        var k = start
        guard k < end, input[k] == 0x2F else { return nil }
        k += 1
        guard let o = identifier(input, &k, end), k < end, input[k] == 0x2F else { return nil }
        k += 1
        guard let i = identifier(input, &k, end), k + 1 == end, input[k] == 0x2F else { return nil }
        return (o, i)
    }

    /// A decimal identifier at `k` (before `end`) as `LwM2MPathTextParser` accepts it: digits without a leading
    /// zero, at most 65534; `k` moves past it. `nil` when there is none.
    @inline(__always)
    private static func identifier(_ input: UnsafeRawBufferPointer, _ k: inout Int, _ end: Int) -> UInt16? {
        let start = k
        var v: UInt32 = 0
        while k < end, k - start < 5 {
            let d = input[k] &- 0x30
            guard d < 10 else { break }
            v = v * 10 + UInt32(d)
            k += 1
        }
        let digits = k - start
        guard digits > 0, v <= 65534, digits == 1 || input[start] != 0x30 else { return nil }
        if k < end, input[k] &- 0x30 < 10 { return nil }  // a sixth digit
        return UInt16(v)
    }

    /// SenML CBOR's syntax for the shared pack reader: definite or indefinite lengths.
    struct Syntax: SenMLSyntax {
        /// The labels 0...8 (RFC 8428 section 6): n, u, v, vs, vb, s, t, ut, vd.
        static let labels: [SenMLResolver.Label] = [
            .name, .unit, .value, .stringValue, .boolValue, .sum, .time, .updateTime, .dataValue,
        ]
        /// The labels -1...-6: bver, bn, bt, bu, bv, bs.
        static let baseLabels: [SenMLResolver.Label] = [
            .baseVersion, .baseName, .baseTime, .baseUnit, .baseValue, .baseSum,
        ]

        private var reader: CBORReader
        /// Records left in a definite-length pack (`nil`: indefinite).
        private var records: Int?
        /// Labels left in a definite-length record (`nil`: indefinite).
        private var labels: Int?

        init(_ bytes: UnsafeRawBufferPointer) { reader = CBORReader(bytes) }

        var input: UnsafeRawBufferPointer { reader.input }
        var offset: Int { reader.offset }

        mutating func beginPack() throws(LwM2MCodecError) -> Int? {
            guard case .array(let count) = try reader.next() else {
                throw WireError.malformed(0, "a SenML pack is an array")
            }
            records = count
            return count
        }

        @inline(__always)
        mutating func nextRecord() throws(LwM2MCodecError) -> Bool {
            guard let left = records else { return try !reader.readBreak() }
            if left == 0 { return false }
            records = left - 1
            return true
        }

        @inline(__always)
        mutating func beginRecord() throws(LwM2MCodecError) {
            let start = reader.offset
            guard case .map(let count) = try reader.next() else {
                throw WireError.malformed(start, "a SenML record is a map")
            }
            labels = count
        }

        @inline(__always)
        mutating func nextLabel() throws(LwM2MCodecError) -> (label: SenMLResolver.Label, offset: Int)? {
            if let left = labels {
                if left == 0 { return nil }
                labels = left - 1
            } else if try reader.readBreak() {
                return nil
            }
            let keyOffset = reader.offset
            // Fast path: the labels LwM2M writes are one-byte integers.
            if keyOffset < reader.input.count {
                let b = reader.input[keyOffset]
                if b < 0x09 {
                    reader.offset += 1
                    return (Self.labels[Int(b)], keyOffset)
                }
                if b >= 0x20 && b < 0x26 {
                    reader.offset += 1
                    return (Self.baseLabels[Int(b - 0x20)], keyOffset)
                }
            }
            let l: SenMLResolver.Label
            switch try reader.next() {
            case .unsigned(let k):
                l = k < 9 ? Self.labels[Int(k)] : .unknown
            case .negative(let k):
                l = k < 6 ? Self.baseLabels[Int(k)] : .unknown
            case .text(let s):
                if s.equals("vlo", in: reader.input) {
                    l = .objectLinkValue
                } else {
                    var last: UInt8 = 0
                    _ = s.forEachByte(in: reader.input) { last = $0; return true }
                    l = last == 0x5F ? .mustUnderstand : .unknown
                }
            default:
                throw WireError.malformed(keyOffset, "a SenML label is an integer or a text string")
            }
            return (l, keyOffset)
        }

        @inline(__always)
        mutating func beginValue() throws(LwM2MCodecError) {}

        @inline(__always)
        mutating func text() throws(LwM2MCodecError) -> WireString {
            // Fast path: a definite text string shorter than 24 bytes.
            let start = reader.offset
            if start < reader.input.count {
                let b = reader.input[start]
                let length = Int(b) - 0x60
                if length >= 0 && length < 24 && length < reader.input.count - start {
                    reader.offset = start + 1 + length
                    return .span(start + 1, start + 1 + length)
                }
            }
            return try SenMLCBORCodec.text(&reader)
        }

        @inline(__always)
        mutating func number() throws(LwM2MCodecError) -> JSONReader.Number {
            // Fast path: an integer -24...23.
            let start = reader.offset
            if start < reader.input.count {
                let b = reader.input[start]
                if b < 0x18 {
                    reader.offset = start + 1
                    return .integer(Int64(b))
                }
                if b >= 0x20 && b < 0x38 {
                    reader.offset = start + 1
                    return .integer(-1 - Int64(b - 0x20))
                }
            }
            if let n = reader.fastNumber() { return n }
            return try SenMLCBORCodec.number(&reader)
        }

        mutating func bool() throws(LwM2MCodecError) -> Bool {
            let valueOffset = reader.offset
            guard case .bool(let b) = try reader.next() else {
                throw WireError.typeMismatch(valueOffset, "vb must be true or false")
            }
            return b
        }

        mutating func data() throws(LwM2MCodecError) -> [UInt8] {
            let valueOffset = reader.offset
            guard case .bytes(let s) = try reader.next() else {
                throw WireError.typeMismatch(valueOffset, "vd must be a byte string")
            }
            return s.bytes(in: reader.input)
        }

        mutating func skipValue() throws(LwM2MCodecError) {
            try reader.skip(depth: 2)
        }

        mutating func finish() throws(LwM2MCodecError) {
            try reader.finish()
        }
    }

    @inline(__always)
    private static func text(_ reader: inout CBORReader) throws(LwM2MCodecError) -> WireString {
        let offset = reader.offset
        guard case .text(let s) = try reader.next() else { throw WireError.typeMismatch(offset, "expected text") }
        return s
    }

    /// A number: an integer (major type 0/1) or a float of any width.
    @inline(__always)
    static func number(_ reader: inout CBORReader) throws(LwM2MCodecError) -> JSONReader.Number {
        let offset = reader.offset
        switch try reader.next() {
        case .unsigned(let u):
            return u <= UInt64(Int64.max) ? .integer(Int64(u)) : .unsigned(u)
        case .negative(let n):
            guard n <= UInt64(Int64.max) else {
                throw WireError.typeMismatch(offset, "integer below the 64-bit range")
            }
            return .integer(-1 - Int64(n))
        case .float(let d):
            return .float(d)
        default:
            throw WireError.typeMismatch(offset, "expected a number")
        }
    }
}
