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
        CBORWriter.mapHeader(1, into: &out)
        let depth = path.depth
        if depth == 1 {
            CBORWriter.uint(UInt64(path.objectID!), into: &out)
        } else {
            CBORWriter.arrayHeader(depth, into: &out)
            for level in 0..<depth { CBORWriter.uint(UInt64(path[level]!), into: &out) }
        }
        switch node {
        case .object(let o):
            CBORWriter.mapHeader(o.instances.count, into: &out)
            for i in o.instances {
                CBORWriter.uint(UInt64(i.id), into: &out)
                writeInstance(i, into: &out)
            }
        case .objectInstance(let i):
            writeInstance(i, into: &out)
        case .resource(let r):
            writeResourceContent(r, into: &out)
        case .resourceInstance(let ri):
            CBORValueCodec.encode(ri.value, into: &out)
        }
    }

    @inline(__always)
    private static func writeInstance(_ i: LwM2MObjectInstance, into out: inout [UInt8]) {
        CBORWriter.mapHeader(i.resources.count, into: &out)
        for r in i.resources {
            CBORWriter.uint(UInt64(r.id), into: &out)
            writeResourceContent(r, into: &out)
        }
    }

    @inline(__always)
    private static func writeResourceContent(_ r: LwM2MResource, into out: inout [UInt8]) {
        switch r.content {
        case .single(let v):
            CBORValueCodec.encode(v, into: &out)
        case .multiple(let instances):
            CBORWriter.mapHeader(instances.count, into: &out)
            for ri in instances {
                CBORWriter.uint(UInt64(ri.id), into: &out)
                CBORValueCodec.encode(ri.value, into: &out)
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
        try writeLevel(sorted[...], level: 0, into: &out)
    }

    private static func writeLevel(
        _ records: ArraySlice<LwM2MRecord>, level: Int, into out: inout [UInt8]
    ) throws(LwM2MCodecError) {
        if records.count == 1, let r = records.first, r.path.depth == level {
            CBORValueCodec.encode(r.value!, into: &out)
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

    /// Decodes the node at `path` (values typed by `definitions`).
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> LwM2MNode {
        let records = try decodeRecords(bytes, definitions: nil)
        return try LwM2MNode(records: records, at: path, definitions: definitions)
    }

    /// Decodes every value as a record at its full path (typed by `definitions` where known).
    public static func decodeRecords(
        _ bytes: UnsafeRawBufferPointer, definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> [LwM2MRecord] {
        var reader = CBORReader(bytes)
        var records: [LwM2MRecord] = []
        let start = reader.offset
        guard case .map(let count) = try reader.next() else {
            throw WireError.malformed(start, "LwM2M CBOR is a map")
        }
        try readMap(&reader, count: count, prefix: .root, depth: 1, into: &records)
        try reader.finish()
        return try LwM2MRecord.typedRecords(records, definitions: definitions)
    }

    private static func readMap(
        _ reader: inout CBORReader, count: Int?, prefix: LwM2MPath, depth: Int, into records: inout [LwM2MRecord]
    ) throws(LwM2MCodecError) {
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
            let valueOffset = reader.offset
            guard valueOffset < reader.input.count else { throw WireError.truncated(valueOffset) }
            if reader.input[valueOffset] >> 5 == 5 {
                guard case .map(let inner) = try reader.next() else { throw WireError.malformed(valueOffset, "map") }
                guard path.depth < 4 else {
                    throw LwM2MCodecError(
                        code: .invalidPath, reason: "nothing lies below a resource instance", offset: valueOffset,
                        path: path)
                }
                try readMap(&reader, count: inner, prefix: path, depth: depth + 1, into: &records)
            } else {
                guard path.depth >= 3 else {
                    throw LwM2MCodecError(
                        code: .invalidPath, reason: "a value needs a resource path", offset: valueOffset, path: path)
                }
                let value = try CBORValueCodec.readValue(&reader, as: nil)
                records.append(LwM2MRecord(path: path, value: value))
            }
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
