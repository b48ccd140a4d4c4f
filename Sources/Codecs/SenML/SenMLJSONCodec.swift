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
    public static func encode(_ node: LwM2MNode, at path: LwM2MPath, into out: inout [UInt8]) throws(LwM2MCodecError) {
        try LwM2MNodeWalk.check(node, at: path)
        var plan = SenMLRecordPlan()
        out.append(0x5B)
        var first = true
        try LwM2MNodeWalk.forEach(node, at: path) { (p, v) throws(LwM2MCodecError) in
            try writeRecord(p, v, nil, plan: &plan, first: &first, into: &out)
        }
        out.append(0x5D)
    }

    /// Appends the pack for `records` (resource values, time series, or value-less records naming paths as in a
    /// Read-Composite request) to `out`, in the given order.
    public static func encode(records: [LwM2MRecord], into out: inout [UInt8]) throws(LwM2MCodecError) {
        var plan = SenMLRecordPlan()
        out.append(0x5B)
        var first = true
        for r in records {
            guard r.path.depth > 0 else {
                throw LwM2MCodecError(code: .invalidPath, reason: "a SenML record cannot name /", path: r.path)
            }
            try writeRecord(r.path, r.value, r.timestamp, plan: &plan, first: &first, into: &out)
        }
        out.append(0x5D)
    }

    @inline(__always)
    private static func writeRecord(
        _ path: LwM2MPath, _ value: LwM2MValue?, _ timestamp: Double?, plan: inout SenMLRecordPlan,
        first: inout Bool, into out: inout [UInt8]
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
        _ d: Double, integral: Bool, path: LwM2MPath, into out: inout [UInt8]
    ) throws(LwM2MCodecError) {
        if integral, let i = Int64(exactly: d) {
            JSONWriter.int(i, into: &out)
        } else if !JSONWriter.double(d, into: &out) {
            throw LwM2MCodecError(code: .notAcceptable, reason: "JSON cannot carry \(d)", path: path)
        }
    }

    @inline(__always)
    static func writeValue(_ value: LwM2MValue, path: LwM2MPath, into out: inout [UInt8]) throws(LwM2MCodecError) {
        switch value {
        case .string(let s), .coreLink(let s):
            JSONWriter.raw("\"vs\":", into: &out)
            JSONWriter.string(s, into: &out)
        case .integer(let i), .time(let i):
            JSONWriter.raw("\"v\":", into: &out)
            JSONWriter.int(i, into: &out)
        case .unsignedInteger(let u):
            JSONWriter.raw("\"v\":", into: &out)
            JSONWriter.uint(u, into: &out)
        case .float(let d):
            JSONWriter.raw("\"v\":", into: &out)
            try writeNumber(d, integral: false, path: path, into: &out)
        case .boolean(let b):
            JSONWriter.raw(b ? "\"vb\":true" : "\"vb\":false", into: &out)
        case .opaque(let bytes):
            JSONWriter.raw("\"vd\":\"", into: &out)
            JSONBase64.encode(bytes, urlSafe: true, padding: false, into: &out)
            out.append(0x22)
        case .objectLink(let link):
            JSONWriter.raw("\"vlo\":\"", into: &out)
            JSONWriter.uint(UInt64(link.objectID), into: &out)
            out.append(0x3A)
            JSONWriter.uint(UInt64(link.instanceID), into: &out)
            out.append(0x22)
        }
    }

    /// Decodes the node at `path` (values typed by `definitions`); every record must lie within `path` and carry a
    /// value, and no path may repeat.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> LwM2MNode {
        let records = try decodeRecords(bytes, definitions: nil)
        return try LwM2MNode(records: records, at: path, definitions: definitions)
    }

    /// Decodes every record of the pack, in order, with resolved paths and time stamps (values typed by
    /// `definitions` where known; value-less records are kept).
    public static func decodeRecords(
        _ bytes: UnsafeRawBufferPointer, definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> [LwM2MRecord] {
        var reader = JSONReader(bytes)
        var resolver = SenMLResolver(bytes)
        var records: [LwM2MRecord] = []
        records.reserveCapacity(min(bytes.count / 12, 1024))  // a record takes at least ~12 bytes
        try reader.expect(0x5B)
        if try !reader.consume(0x5D) {
            repeat {
                _ = try reader.peek()
                let start = reader.offset
                let fields = try readRecord(&reader)
                records.append(try resolver.resolve(fields, at: start))
            } while try reader.nextElement(close: 0x5D)
        }
        try reader.finish()
        return try LwM2MRecord.typedRecords(records, definitions: definitions)
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

    private static func readRecord(_ reader: inout JSONReader) throws(LwM2MCodecError) -> SenMLResolver.Fields {
        var fields = SenMLResolver.Fields()
        try reader.expect(0x7B)
        if try reader.consume(0x7D) { return fields }
        repeat {
            let keyOffset = reader.offset
            let key = try reader.readString()
            try reader.expect(0x3A)
            let l = label(key, in: reader.input)
            guard fields.see(l) else { throw WireError.malformed(keyOffset, "repeated label or second value") }
            _ = try reader.peek()
            let valueOffset = reader.offset
            switch l {
            case .baseName: fields.baseName = try string(&reader)
            case .name: fields.name = try string(&reader)
            case .baseTime: fields.baseTime = try number(&reader).double
            case .time: fields.time = try number(&reader).double
            case .baseValue: fields.baseValue = try number(&reader).double
            case .baseVersion:
                guard case .integer(let v) = try number(&reader), v >= 1, v <= 10 else {
                    throw WireError.malformed(valueOffset, "unsupported SenML version")
                }
            case .value:
                switch try number(&reader) {
                case .integer(let i): fields.value = .integer(i)
                case .unsigned(let u): fields.value = .unsigned(u)
                case .float(let d): fields.value = .float(d)
                }
            case .stringValue: fields.value = .string(try string(&reader))
            case .boolValue:
                let c = try reader.peek()
                guard c == 0x74 || c == 0x66 else {
                    throw WireError.typeMismatch(valueOffset, "vb must be true or false")
                }
                fields.value = .bool(try reader.readBool())
            case .dataValue:
                guard let data = JSONBase64.decode(try string(&reader), in: reader.input) else {
                    throw WireError.malformed(valueOffset, "vd is not base64url")
                }
                fields.value = .data(data)
            case .objectLinkValue: fields.value = .objectLink(try string(&reader))
            case .mustUnderstand:
                throw LwM2MCodecError(code: .malformed, reason: "unknown must-understand label", offset: keyOffset)
            default:
                try reader.skipValue(depth: 2)
            }
        } while try reader.nextElement(close: 0x7D)
        return fields
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
