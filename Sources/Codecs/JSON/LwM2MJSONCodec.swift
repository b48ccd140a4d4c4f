public import LwM2MModel

/// LwM2M JSON (`application/vnd.oma.lwm2m+json`, Content-Format 11543, legacy 1543; Core TS 1.0.2 section 6.4.4).
///
/// `{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"7/0","v":3800}]}`: a base name, an array of
/// entries named relative to it with `v` (numbers: Integer, Unsigned Integer, Float, Time), `bv` (Boolean), `sv`
/// (String, Corelnk, and Opaque as standard base64) or `ov` (Objlnk `"3:0"`), and optional times `bt` + `t`.
/// Decoding types values by the definitions; a resource they do not know keeps the JSON type (`sv` stays a string,
/// even if it might be base64).
public enum LwM2MJSONCodec {
    /// Appends the encoding of `node` at `path` to `out`; entries are named relative to the object instance (or
    /// the object, for an object node).
    public static func encode(_ node: LwM2MNode, at path: LwM2MPath, into out: inout [UInt8]) throws(LwM2MCodecError) {
        try LwM2MNodeWalk.check(node, at: path)
        let baseDepth = min(path.depth, 2)
        let size = LwM2MNodeWalk.measure(node) { SenMLJSONCodec.recordBound($0) }
        try out.appendBounded(64 + size.bound) { (c: inout ByteCursor) throws(LwM2MCodecError) in
            JSONWriter.raw("{\"bn\":\"", into: &c)
            LwM2MPathText.append(path, from: 0, to: baseDepth, leadingSlash: true, trailingSlash: true, into: &c)
            JSONWriter.raw("\",\"e\":[", into: &c)
            var first = true
            try LwM2MNodeWalk.forEach(node, at: path) { (p, v) throws(LwM2MCodecError) in
                c.require(SenMLJSONCodec.recordBound(v))
                try writeEntry(p, v, nil, baseDepth: baseDepth, first: &first, into: &c)
            }
            JSONWriter.raw("]}", into: &c)
        }
    }

    /// Appends the encoding of `records` (resource or resource instance paths with values); a time stamp becomes
    /// the entry's `t`.
    public static func encode(records: [LwM2MRecord], into out: inout [UInt8]) throws(LwM2MCodecError) {
        for r in records where r.path.depth < 3 || r.value == nil {
            throw LwM2MCodecError(
                code: .notAcceptable, reason: "LwM2M JSON carries values of resources only", path: r.path)
        }
        // The deepest common base: the shared instance, the shared object, or the root.
        var baseDepth = 2
        if let first = records.first {
            for r in records {
                if r.path.objectID != first.path.objectID {
                    baseDepth = 0
                } else if r.path.instanceID != first.path.instanceID {
                    baseDepth = min(baseDepth, 1)
                }
            }
        } else {
            baseDepth = 0
        }
        let base = records.first?.path ?? .root
        var bound = 64
        for r in records { bound += SenMLJSONCodec.recordBound(r.value) }
        try out.appendBounded(bound) { (c: inout ByteCursor) throws(LwM2MCodecError) in
            JSONWriter.raw("{\"bn\":\"", into: &c)
            LwM2MPathText.append(base, from: 0, to: baseDepth, leadingSlash: true, trailingSlash: true, into: &c)
            JSONWriter.raw("\",\"e\":[", into: &c)
            var first = true
            for r in records {
                c.require(SenMLJSONCodec.recordBound(r.value))
                try writeEntry(r.path, r.value!, r.timestamp, baseDepth: baseDepth, first: &first, into: &c)
            }
            JSONWriter.raw("]}", into: &c)
        }
    }

    @inline(__always)
    private static func writeEntry(
        _ path: LwM2MPath, _ value: LwM2MValue, _ timestamp: Double?, baseDepth: Int, first: inout Bool,
        into out: inout ByteCursor
    ) throws(LwM2MCodecError) {
        if !first { out.append(0x2C) }
        first = false
        JSONWriter.raw("{\"n\":\"", into: &out)
        LwM2MPathText.append(path, from: baseDepth, to: path.depth, leadingSlash: false, trailingSlash: false, into: &out)
        out.append(0x22)
        out.append(0x2C)
        switch value {
        case .string(let s), .coreLink(let s):
            JSONWriter.raw("\"sv\":", into: &out)
            JSONWriter.string(s, into: &out)
        case .opaque(let bytes):
            JSONWriter.raw("\"sv\":\"", into: &out)
            JSONBase64.encode(bytes, urlSafe: false, padding: true, into: &out)
            out.append(0x22)
        case .boolean(let b):
            JSONWriter.raw(b ? "\"bv\":true" : "\"bv\":false", into: &out)
        case .objectLink(let link):
            JSONWriter.raw("\"ov\":\"", into: &out)
            LwM2MPathText.append(link, into: &out)
            out.append(0x22)
        case .integer(let i), .time(let i):
            JSONWriter.raw("\"v\":", into: &out)
            JSONWriter.int(i, into: &out)
        case .unsignedInteger(let u):
            JSONWriter.raw("\"v\":", into: &out)
            JSONWriter.uint(u, into: &out)
        case .float(let d):
            JSONWriter.raw("\"v\":", into: &out)
            guard JSONWriter.double(d, into: &out) else {
                throw LwM2MCodecError(code: .notAcceptable, reason: "JSON cannot carry \(d)", path: path)
            }
        }
        if let t = timestamp {
            JSONWriter.raw(",\"t\":", into: &out)
            if let i = Int64(exactly: t) {
                JSONWriter.int(i, into: &out)
            } else if !JSONWriter.double(t, into: &out) {
                throw LwM2MCodecError(code: .notAcceptable, reason: "JSON cannot carry time \(t)", path: path)
            }
        }
        out.append(0x7D)
    }

    /// Decodes the node at `path` (values typed by `definitions`).
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> LwM2MNode {
        let records = try decodeRecords(bytes, definitions: definitions)
        return try LwM2MNode(records: records, at: path, definitions: definitions)
    }

    /// Decodes every entry as a record at its full path (typed by `definitions` where known; an Opaque resource's
    /// `sv` is base64-decoded).
    public static func decodeRecords(
        _ bytes: UnsafeRawBufferPointer, definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> [LwM2MRecord] {
        // Pass 1: find bn, bt and e (the keys may come in any order).
        var reader = JSONReader(bytes)
        var baseName: WireString? = nil
        var baseTime: Double? = nil
        var entriesOffset: Int? = nil
        try reader.expect(0x7B)
        if try !reader.consume(0x7D) {
            repeat {
                let keyOffset = reader.offset
                let key = try reader.readString()
                try reader.expect(0x3A)
                _ = try reader.peek()
                let valueOffset = reader.offset
                if key.equals("bn", in: bytes) {
                    guard baseName == nil, try reader.peek() == 0x22 else {
                        throw WireError.malformed(keyOffset, "bn must be one string")
                    }
                    baseName = try reader.readString()
                } else if key.equals("bt", in: bytes) {
                    guard baseTime == nil else { throw WireError.malformed(keyOffset, "repeated bt") }
                    baseTime = try number(&reader).double
                } else if key.equals("e", in: bytes) {
                    guard entriesOffset == nil, try reader.peek() == 0x5B else {
                        throw WireError.malformed(keyOffset, "e must be one array")
                    }
                    entriesOffset = valueOffset
                    try reader.skipValue(depth: 1)
                } else {
                    try reader.skipValue(depth: 1)
                }
            } while try reader.nextElement(close: 0x7D)
        }
        try reader.finish()
        guard let entriesOffset else { throw WireError.malformed(0, "no e array") }

        // Pass 2: the entries.
        reader.offset = entriesOffset
        var records: [LwM2MRecord] = []
        try reader.expect(0x5B)
        if try !reader.consume(0x5D) {
            repeat {
                _ = try reader.peek()
                let start = reader.offset
                records.append(try readEntry(&reader, baseName: baseName, baseTime: baseTime, at: start))
            } while try reader.nextElement(close: 0x5D)
        }
        guard let definitions else { return records }
        for k in records.indices {
            let r = records[k]
            if case .string(let s) = r.value, let o = r.path.objectID, let rid = r.path.resourceID,
                definitions.resourceDefinition(objectID: o, resourceID: rid)?.type == .opaque
            {
                let utf8 = Array(s.utf8)
                let data = utf8.withUnsafeBytes { JSONBase64.decode(.span(0, $0.count), in: $0) }
                guard let data else {
                    throw LwM2MCodecError(code: .typeMismatch, reason: "Opaque sv is not base64", path: r.path)
                }
                records[k].value = .opaque(data)
            } else {
                records[k] = try LwM2MNode.typed(r, definitions: definitions)
            }
        }
        return records
    }

    private static func readEntry(
        _ reader: inout JSONReader, baseName: WireString?, baseTime: Double?, at start: Int
    ) throws(LwM2MCodecError) -> LwM2MRecord {
        var name: WireString? = nil
        var time: Double? = nil
        var value: LwM2MValue? = nil
        var rawLink: WireString? = nil
        try reader.expect(0x7B)
        if try !reader.consume(0x7D) {
            repeat {
                let keyOffset = reader.offset
                let key = try reader.readString()
                try reader.expect(0x3A)
                _ = try reader.peek()
                let valueOffset = reader.offset
                let isValue = key.equals("v", in: reader.input) || key.equals("sv", in: reader.input)
                    || key.equals("bv", in: reader.input) || key.equals("ov", in: reader.input)
                if isValue && (value != nil || rawLink != nil) {
                    throw WireError.malformed(keyOffset, "second value in an entry")
                }
                if key.equals("n", in: reader.input) {
                    guard name == nil, try reader.peek() == 0x22 else { throw WireError.malformed(keyOffset, "bad n") }
                    name = try reader.readString()
                } else if key.equals("t", in: reader.input) {
                    guard time == nil else { throw WireError.malformed(keyOffset, "repeated t") }
                    time = try number(&reader).double
                } else if key.equals("v", in: reader.input) {
                    switch try number(&reader) {
                    case .integer(let i): value = .integer(i)
                    case .unsigned(let u): value = .unsignedInteger(u)
                    case .float(let d): value = .float(d)
                    }
                } else if key.equals("sv", in: reader.input) {
                    guard try reader.peek() == 0x22 else { throw WireError.typeMismatch(valueOffset, "sv is a string") }
                    guard let s = try reader.readString().string(in: reader.input) else {
                        throw WireError.malformed(valueOffset, "sv is not UTF-8")
                    }
                    value = .string(s)
                } else if key.equals("bv", in: reader.input) {
                    let c = try reader.peek()
                    guard c == 0x74 || c == 0x66 else { throw WireError.typeMismatch(valueOffset, "bv is a boolean") }
                    value = .boolean(try reader.readBool())
                } else if key.equals("ov", in: reader.input) {
                    guard try reader.peek() == 0x22 else { throw WireError.typeMismatch(valueOffset, "ov is a string") }
                    rawLink = try reader.readString()
                } else {
                    try reader.skipValue(depth: 3)
                }
            } while try reader.nextElement(close: 0x7D)
        }
        var parser = LwM2MPathTextParser()
        var ok = true
        if let bn = baseName { ok = bn.forEachByte(in: reader.input) { parser.feed($0) } }
        if ok, let n = name { ok = n.forEachByte(in: reader.input) { parser.feed($0) } }
        guard ok, let path = parser.finish(), path.depth >= 3 else {
            throw LwM2MCodecError(code: .invalidPath, reason: "entry name is not a resource path", offset: start)
        }
        if let rawLink {
            guard let text = rawLink.string(in: reader.input), let link = LwM2MObjectLink(parsing: text) else {
                throw LwM2MCodecError(code: .typeMismatch, reason: "ov is not \"o:i\"", offset: start, path: path)
            }
            value = .objectLink(link)
        }
        guard let value else {
            throw LwM2MCodecError(code: .malformed, reason: "entry without a value", offset: start, path: path)
        }
        var timestamp: Double? = nil
        if baseTime != nil || time != nil { timestamp = (baseTime ?? 0) + (time ?? 0) }
        return LwM2MRecord(path: path, value: value, timestamp: timestamp)
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
