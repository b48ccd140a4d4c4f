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
        var plan = SenMLRecordPlan()
        CBORWriter.arrayHeader(LwM2MNodeWalk.valueCount(node), into: &out)
        try LwM2MNodeWalk.forEach(node, at: path) { (p, v) throws(LwM2MCodecError) in
            writeRecord(p, v, nil, plan: &plan, into: &out)
        }
    }

    /// Appends the pack for `records` to `out`, in the given order (value-less records name paths, as in a
    /// Read-Composite request).
    public static func encode(records: [LwM2MRecord], into out: inout [UInt8]) throws(LwM2MCodecError) {
        var plan = SenMLRecordPlan()
        CBORWriter.arrayHeader(records.count, into: &out)
        for r in records {
            guard r.path.depth > 0 else {
                throw LwM2MCodecError(code: .invalidPath, reason: "a SenML record cannot name /", path: r.path)
            }
            writeRecord(r.path, r.value, r.timestamp, plan: &plan, into: &out)
        }
    }

    @inline(__always)
    private static func writeRecord(
        _ path: LwM2MPath, _ value: LwM2MValue?, _ timestamp: Double?, plan: inout SenMLRecordPlan,
        into out: inout [UInt8]
    ) {
        let f = plan.plan(path, timestamp: timestamp)
        var pairs = value == nil ? 0 : 1
        if f.writeBase { pairs += 1 }
        if f.writeBaseTime != nil { pairs += 1 }
        if f.writeName { pairs += 1 }
        CBORWriter.mapHeader(pairs, into: &out)
        if f.writeBase {
            out.append(0x21)  // -2
            let length = LwM2MPathText.length(
                path, from: 0, to: f.baseDepth, leadingSlash: true, trailingSlash: f.baseSlash)
            CBORWriter.head(CBORWriter.textString, UInt64(length), into: &out)
            LwM2MPathText.append(
                path, from: 0, to: f.baseDepth, leadingSlash: true, trailingSlash: f.baseSlash, into: &out)
        }
        if let bt = f.writeBaseTime {
            out.append(0x22)  // -3
            writeNumber(bt, into: &out)
        }
        if f.writeName {
            out.append(0x00)
            let length = LwM2MPathText.length(
                path, from: f.baseDepth, to: path.depth, leadingSlash: false, trailingSlash: false)
            CBORWriter.head(CBORWriter.textString, UInt64(length), into: &out)
            LwM2MPathText.append(
                path, from: f.baseDepth, to: path.depth, leadingSlash: false, trailingSlash: false, into: &out)
        }
        if let value { writeValue(value, into: &out) }
    }

    /// A time: an integer when integral, else the shortest exact float.
    @inline(__always)
    private static func writeNumber(_ d: Double, into out: inout [UInt8]) {
        if let i = Int64(exactly: d) {
            CBORWriter.int(i, into: &out)
        } else {
            CBORWriter.float(d, into: &out)
        }
    }

    @inline(__always)
    static func writeValue(_ value: LwM2MValue, into out: inout [UInt8]) {
        switch value {
        case .string(let s), .coreLink(let s):
            out.append(0x03)
            CBORWriter.text(s, into: &out)
        case .integer(let i), .time(let i):
            out.append(0x02)
            CBORWriter.int(i, into: &out)
        case .unsignedInteger(let u):
            out.append(0x02)
            CBORWriter.uint(u, into: &out)
        case .float(let d):
            out.append(0x02)
            CBORWriter.float(d, into: &out)
        case .boolean(let b):
            out.append(0x04)
            CBORWriter.bool(b, into: &out)
        case .opaque(let bytes):
            out.append(0x08)
            CBORWriter.bytes(bytes, into: &out)
        case .objectLink(let link):
            CBORWriter.text("vlo", into: &out)
            let length = LwM2MPathText.digitCount(link.objectID) + 1 + LwM2MPathText.digitCount(link.instanceID)
            CBORWriter.head(CBORWriter.textString, UInt64(length), into: &out)
            LwM2MPathText.appendDigits(link.objectID, into: &out)
            out.append(0x3A)
            LwM2MPathText.appendDigits(link.instanceID, into: &out)
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
        var reader = CBORReader(bytes)
        var resolver = SenMLResolver(bytes)
        var records: [LwM2MRecord] = []
        guard case .array(let count) = try reader.next() else {
            throw WireError.malformed(0, "a SenML pack is an array")
        }
        if let count {
            records.reserveCapacity(count)
            for _ in 0..<count {
                let start = reader.offset
                records.append(try resolver.resolve(try readRecord(&reader), at: start))
            }
        } else {
            while try !reader.readBreak() {
                let start = reader.offset
                records.append(try resolver.resolve(try readRecord(&reader), at: start))
            }
        }
        try reader.finish()
        return try LwM2MRecord.typedRecords(records, definitions: definitions)
    }

    private static func readRecord(_ reader: inout CBORReader) throws(LwM2MCodecError) -> SenMLResolver.Fields {
        let start = reader.offset
        guard case .map(let count) = try reader.next() else {
            throw WireError.malformed(start, "a SenML record is a map")
        }
        var fields = SenMLResolver.Fields()
        var remaining = count ?? 0
        while true {
            if count == nil {
                if try reader.readBreak() { break }
            } else {
                if remaining == 0 { break }
                remaining -= 1
            }
            let keyOffset = reader.offset
            let l: SenMLResolver.Label
            switch try reader.next() {
            case .unsigned(let k):
                switch k {
                case 0: l = .name
                case 1: l = .unit
                case 2: l = .value
                case 3: l = .stringValue
                case 4: l = .boolValue
                case 5: l = .sum
                case 6: l = .time
                case 7: l = .updateTime
                case 8: l = .dataValue
                default: l = .unknown
                }
            case .negative(let k):
                switch k {
                case 0: l = .baseVersion
                case 1: l = .baseName
                case 2: l = .baseTime
                case 3: l = .baseUnit
                case 4: l = .baseValue
                case 5: l = .baseSum
                default: l = .unknown
                }
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
            guard fields.see(l) else { throw WireError.malformed(keyOffset, "repeated label or second value") }
            let valueOffset = reader.offset
            switch l {
            case .baseName: fields.baseName = try text(&reader)
            case .name: fields.name = try text(&reader)
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
            case .stringValue: fields.value = .string(try text(&reader))
            case .objectLinkValue: fields.value = .objectLink(try text(&reader))
            case .boolValue:
                guard case .bool(let b) = try reader.next() else {
                    throw WireError.typeMismatch(valueOffset, "vb must be true or false")
                }
                fields.value = .bool(b)
            case .dataValue:
                guard case .bytes(let s) = try reader.next() else {
                    throw WireError.typeMismatch(valueOffset, "vd must be a byte string")
                }
                fields.value = .data(s.bytes(in: reader.input))
            case .mustUnderstand:
                throw LwM2MCodecError(code: .malformed, reason: "unknown must-understand label", offset: keyOffset)
            default:
                try reader.skip(depth: 2)
            }
        }
        return fields
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
