public import LwM2MModel

/// LwM2M CBOR (`application/vnd.oma.lwm2m+cbor`, Content-Format 11544; Core TS 1.2 section 7.4.7).
///
/// A tree of CBOR maps keyed by path components: a key is one identifier or an array of consecutive identifiers
/// (`{[3, 0]: {0: "Open Mobile Alliance", 7: {0: 3800, 1: 5000}}}`), and the leaves are values encoded as in
/// `CBORValueCodec`. The encoder writes the node's own path as one array key (a single identifier for an object)
/// and one map per level below it. The decoder accepts any split of the path between keys, definite and indefinite
/// lengths, and types values by the definitions (unknown resources keep their untyped CBOR value). The format has no
/// time stamps and no value-less entries.
public enum LwM2MCBORCodec {
    /// Appends the encoding of `node` at `path` to `out`.
    public static func encode(_ node: LwM2MNode, at path: LwM2MPath, into out: inout [UInt8]) throws(LwM2MCodecError) {
        try LwM2MNodeWalk.check(node, at: path)
        let h = CBORWriter.maxHeadSize
        var bound = 8 * h  // the outer map and the path key
        switch node {
        case .object(let o): for i in o.instances { bound += instanceBound(i) }
        case .objectInstance(let i): bound += instanceBound(i)
        case .resource(let r): bound += resourceBound(r)
        case .resourceInstance(let ri): bound += CBORValueCodec.maxSize(ri.value)
        }
        out.appendBounded(bound) { (c: inout ByteCursor) in
            CBORWriter.mapHeader(1, into: &c)
            let depth = path.depth
            if depth == 1 {
                CBORWriter.uint(UInt64(path.objectID!), into: &c)
            } else {
                CBORWriter.arrayHeader(depth, into: &c)
                for level in 0..<depth { CBORWriter.uint(UInt64(path[level]!), into: &c) }
            }
            switch node {
            case .object(let o):
                CBORWriter.mapHeader(o.instances.count, into: &c)
                for i in o.instances {
                    c.require(instanceBound(i))
                    CBORWriter.uint(UInt64(i.id), into: &c)
                    writeInstance(i, into: &c)
                }
            // The path key takes at most 14 bytes of the 8 heads reserved for it; the rest is the bound just
            // computed for the same node.
            case .objectInstance(let i):
                writeInstance(i, into: &c)
            case .resource(let r):
                writeResourceContent(r, into: &c)
            case .resourceInstance(let ri):
                CBORValueCodec.write(ri.value, into: &c)
            }
        }
    }

    /// The most bytes an instance takes with its key (checked by the caller before writing it).
    @inline(__always)
    private static func instanceBound(_ i: LwM2MObjectInstance) -> Int {
        var n = 2 * CBORWriter.maxHeadSize
        for r in i.resources { n += CBORWriter.maxHeadSize + resourceBound(r) }
        return n
    }

    /// The most bytes a resource's content takes.
    @inline(__always)
    private static func resourceBound(_ r: LwM2MResource) -> Int {
        switch r.content {
        case .single(let v):
            return CBORValueCodec.maxSize(v)
        case .multiple(let instances):
            if let packed = instances.packed {
                return CBORWriter.maxHeadSize &+ packed.count &* (CBORWriter.maxHeadSize &+ CBORValueCodec.packedMaxSize)
            }
            var n = CBORWriter.maxHeadSize
            instances.withUnsafeBufferPointer { ris in
                for ri in ris { n += CBORWriter.maxHeadSize + CBORValueCodec.maxSize(ri.value) }
            }
            return n
        }
    }

    @inline(__always)
    private static func writeInstance(_ i: LwM2MObjectInstance, into out: inout ByteCursor) {
        CBORWriter.mapHeader(i.resources.count, into: &out)
        for r in i.resources {
            CBORWriter.uint(UInt64(r.id), into: &out)
            writeResourceContent(r, into: &out)
        }
    }

    @inline(__always)
    private static func writeResourceContent(_ r: LwM2MResource, into out: inout ByteCursor) {
        switch r.content {
        case .single(let v):
            CBORValueCodec.write(v, into: &out)
        case .multiple(let instances):
            if let packed = instances.packed {
                CBORWriter.mapHeader(packed.count, into: &out)
                for k in 0..<packed.count {
                    CBORWriter.uint(UInt64(packed.id(k)), into: &out)
                    CBORValueCodec.writePacked(packed, k, into: &out)
                }
                return
            }
            instances.withUnsafeBufferPointer { ris in
                CBORWriter.mapHeader(ris.count, into: &out)
                for ri in ris {
                    CBORWriter.uint(UInt64(ri.id), into: &out)
                    CBORValueCodec.write(ri.value, into: &out)
                }
            }
        }
    }

    /// Appends the encoding of `records` (resource or resource instance paths with values, no time stamps) as one
    /// tree nested by object, instance, resource and resource instance.
    public static func encode(records: [LwM2MRecord], into out: inout [UInt8]) throws(LwM2MCodecError) {
        var sorted = records
        sorted.sort { $0.path < $1.path }
        for (k, r) in sorted.enumerated() {
            guard r.path.depth >= 3, r.value != nil else {
                throw LwM2MCodecError(
                    code: .notAcceptable, reason: "LwM2M CBOR carries values of resources only", path: r.path)
            }
            guard r.timestamp == nil else {
                throw LwM2MCodecError(code: .notAcceptable, reason: "LwM2M CBOR has no time stamps", path: r.path)
            }
            if k > 0 && sorted[k - 1].path == r.path {
                throw LwM2MCodecError(code: .duplicatePath, reason: "\(r.path) appears twice", path: r.path)
            }
        }
        // At most 8 heads per record (a map and a key per level) besides its value.
        var bound = CBORWriter.maxHeadSize
        for r in sorted { bound += 8 * CBORWriter.maxHeadSize + CBORValueCodec.maxSize(r.value!) }
        try out.appendBounded(bound) { (c: inout ByteCursor) throws(LwM2MCodecError) in
            try writeLevel(sorted[...], level: 0, into: &c)
        }
    }

    private static func writeLevel(
        _ records: ArraySlice<LwM2MRecord>, level: Int, into out: inout ByteCursor
    ) throws(LwM2MCodecError) {
        out.require(2 * CBORWriter.maxHeadSize)
        if records.count == 1, let r = records.first, r.path.depth == level {
            out.require(CBORValueCodec.maxSize(r.value!))
            CBORValueCodec.write(r.value!, into: &out)
            return
        }
        if let mixed = records.first(where: { $0.path.depth == level }) {
            throw LwM2MCodecError(
                code: .malformed, reason: "\(mixed.path) is both a value and a parent", path: mixed.path)
        }
        var groups = 0
        var previous: UInt16? = nil
        for r in records where r.path[level] != previous {
            groups += 1
            previous = r.path[level]
        }
        CBORWriter.mapHeader(groups, into: &out)
        var index = records.startIndex
        while index < records.endIndex {
            let id = records[index].path[level]!
            var end = index
            while end < records.endIndex && records[end].path[level] == id { end += 1 }
            CBORWriter.uint(UInt64(id), into: &out)
            try writeLevel(records[index..<end], level: level + 1, into: &out)
            index = end
        }
    }

    /// Decodes the node at `path` (values typed by `definitions`): straight into the node when the keys come in
    /// path order, else through `LwM2MNode(records:at:definitions:)`.
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
        if var builder = LwM2MNodeBuilder(at: path, definitions: definitions, reusing: &storage) {
            if try read(bytes, into: &builder), let node = builder.finish() { return node }
        }
        let records = try decodeRecords(bytes, definitions: nil)
        return try LwM2MNode(records: records, at: path, definitions: definitions)
    }

    /// Decodes every value as a record at its full path (typed by `definitions` where known).
    public static func decodeRecords(
        _ bytes: UnsafeRawBufferPointer, definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> [LwM2MRecord] {
        var collector = LwM2MRecordCollector()
        _ = try read(bytes, into: &collector)
        return try LwM2MRecord.typedRecords(collector.records, definitions: definitions)
    }

    /// Reads every value into `sink`; `false` when the sink stopped early.
    private static func read<Sink: LwM2MRecordSink>(
        _ bytes: UnsafeRawBufferPointer, into sink: inout Sink
    ) throws(LwM2MCodecError) -> Bool {
        var reader = CBORReader(bytes)
        let start = reader.offset
        guard case .map(let count) = try reader.next() else {
            throw WireError.malformed(start, "LwM2M CBOR is a map")
        }
        sink.reserve(min(bytes.count / 4, 256))  // a guess: a key and a short value
        guard try readMap(&reader, count: count, prefix: .root, depth: 1, into: &sink) else { return false }
        try reader.finish()
        return true
    }

    private static func readMap<Sink: LwM2MRecordSink>(
        _ reader: inout CBORReader, count: Int?, prefix: LwM2MPath, depth: Int, into sink: inout Sink
    ) throws(LwM2MCodecError) -> Bool {
        guard depth <= 5 else { throw WireError.tooDeep(reader.offset) }
        var remaining = count ?? 0
        while true {
            if count == nil {
                if try reader.readBreak() { break }
            } else {
                if remaining == 0 { break }
                remaining -= 1
            }
            let keyOffset = reader.offset
            var path = prefix
            if let id = reader.fastHead(0) {
                // The common key: one identifier.
                path = try extend(path, id, at: keyOffset)
            } else if let n = reader.fastContainer(4) {
                // An array of identifiers with a definite count.
                guard n > 0 else { throw WireError.malformed(keyOffset, "empty path key") }
                for _ in 0..<n {
                    let idOffset = reader.offset
                    if let id = reader.fastHead(0) {
                        path = try extend(path, id, at: idOffset)
                    } else {
                        guard case .unsigned(let id) = try reader.next() else {
                            throw WireError.malformed(idOffset, "a path component is an unsigned integer")
                        }
                        path = try extend(path, id, at: idOffset)
                    }
                }
            } else {
                try readKey(&reader, at: keyOffset, into: &path)
            }
            let valueOffset = reader.offset
            guard valueOffset < reader.input.count else { throw WireError.truncated(valueOffset) }
            // A nested map: its pair count (`nil` inside when indefinite), else `nil` for a value.
            var nested: Int?? = nil
            if let n = reader.fastContainer(5) {
                nested = .some(n)
            } else if reader.input[valueOffset] >> 5 == 5 {
                guard case .map(let inner) = try reader.next() else { throw WireError.malformed(valueOffset, "map") }
                nested = .some(inner)
            }
            if let inner = nested {
                guard path.depth < 4 else {
                    throw LwM2MCodecError(
                        code: .invalidPath, reason: "nothing lies below a resource instance", offset: valueOffset,
                        path: path)
                }
                guard try readMap(&reader, count: inner, prefix: path, depth: depth + 1, into: &sink) else {
                    return false
                }
            } else {
                guard path.depth >= 3 else {
                    throw LwM2MCodecError(
                        code: .invalidPath, reason: "a value needs a resource path", offset: valueOffset, path: path)
                }
                // `readValue(_:as: nil)` inlined, the value built in the argument: no copy of it on the way in.
                guard sink.add(path, try CBORValueCodec.readUntyped(&reader, start: valueOffset), timestamp: nil)
                else { return false }
            }
        }
        return true
    }

    /// Reads a key in any form `next()` accepts (the forms the fast path in `readMap` leaves) onto `path`.
    private static func readKey(
        _ reader: inout CBORReader, at keyOffset: Int, into path: inout LwM2MPath
    ) throws(LwM2MCodecError) {
        switch try reader.next() {
        case .unsigned(let id):
            path = try extend(path, id, at: keyOffset)
        case .array(let n):
            var ids = 0
            var left = n ?? 0
            while true {
                if n == nil {
                    if try reader.readBreak() { break }
                } else {
                    if left == 0 { break }
                    left -= 1
                }
                let idOffset = reader.offset
                guard case .unsigned(let id) = try reader.next() else {
                    throw WireError.malformed(idOffset, "a path component is an unsigned integer")
                }
                path = try extend(path, id, at: idOffset)
                ids += 1
            }
            guard ids > 0 else { throw WireError.malformed(keyOffset, "empty path key") }
        default:
            throw WireError.malformed(keyOffset, "a key is an identifier or an array of identifiers")
        }
    }

    @inline(__always)
    private static func extend(_ path: LwM2MPath, _ id: UInt64, at offset: Int) throws(LwM2MCodecError) -> LwM2MPath {
        guard id < 0xFFFF, let p = path.appending(UInt16(id)) else {
            throw LwM2MCodecError(code: .invalidPath, reason: "path component \(id) is not valid here", offset: offset)
        }
        return p
    }
}
