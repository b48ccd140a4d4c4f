public import LwM2MModel

/// `application/cbor` (Content-Format 60): one resource or resource instance value as a single CBOR data item
/// (Core TS 1.1.1 section 7.4.6).
///
/// Integers and Time are CBOR integers, Float the shortest exact float, Boolean a simple value, String and Corelnk
/// text strings, Opaque a byte string and Objlnk the text `"3:0"`. Decoding accepts any float width, tag 1 (epoch
/// time) around a number, and types the item by the resource type given; without one, the item keeps the most
/// faithful untyped value (integer, unsigned above `Int64.max`, float, string, opaque or boolean).
public enum CBORValueCodec {
    /// Appends the encoding of `value` to `out`.
    public static func encode(_ value: LwM2MValue, into out: inout [UInt8]) {
        // Numbers and booleans: one head straight into the array, without reserving a bound first.
        switch value {
        case .integer(let i), .time(let i):
            if i >= 0 {
                CBORWriter.head(CBORWriter.unsigned, UInt64(i), to: &out)
            } else {
                CBORWriter.head(CBORWriter.negative, UInt64(bitPattern: ~i), to: &out)
            }
            return
        case .unsignedInteger(let u):
            CBORWriter.head(CBORWriter.unsigned, u, to: &out)
            return
        case .boolean(let b):
            out.append(b ? 0xF5 : 0xF4)
            return
        default:
            break
        }
        out.appendBounded(maxSize(value)) { (c: inout ByteCursor) in write(value, into: &c) }
    }

    /// The most bytes the encoding of `value` takes.
    @inline(__always)
    static func maxSize(_ value: LwM2MValue) -> Int {
        CBORWriter.maxHeadSize + SenMLRecordPlan.payloadLength(value) + 11  // 11: an object link's text
    }

    /// The most bytes the encoding of an inline instance's value takes (`maxSize` of a value with no payload).
    static let packedMaxSize = CBORWriter.maxHeadSize + 11  // 11: an object link's text

    /// Writes inline slot `k`'s value as `write` writes it unpacked (at most `packedMaxSize` bytes).
    @inline(__always)
    static func writePacked(_ packed: LwM2MPackedInstances, _ k: Int, into out: inout ByteCursor) {
        switch packed.kind(k) {
        case .integer, .time: CBORWriter.int(packed.signed(k), into: &out)
        case .unsignedInteger: CBORWriter.uint(UInt64(packed.bits(k)), into: &out)
        case .float: CBORWriter.float(packed.double(k), into: &out)
        case .boolean: CBORWriter.bool(packed.bits(k) != 0, into: &out)
        case .objectLink:
            let link = packed.objectLink(k)
            CBORWriter.head(CBORWriter.textString, UInt64(LwM2MPathText.length(link)), into: &out)
            LwM2MPathText.append(link, into: &out)
        }
    }

    /// Writes `value` (at most `maxSize(value)` bytes; also used by SenML CBOR and LwM2M CBOR).
    @inline(__always)
    static func write(_ value: LwM2MValue, into out: inout ByteCursor) {
        switch value {
        case .string(let s), .coreLink(let s): CBORWriter.text(s, into: &out)
        case .integer(let i), .time(let i): CBORWriter.int(i, into: &out)
        case .unsignedInteger(let u): CBORWriter.uint(u, into: &out)
        case .float(let d): CBORWriter.float(d, into: &out)
        case .boolean(let b): CBORWriter.bool(b, into: &out)
        case .opaque(let bytes): CBORWriter.bytes(bytes, into: &out)
        case .objectLink(let link):
            CBORWriter.head(CBORWriter.textString, UInt64(LwM2MPathText.length(link)), into: &out)
            LwM2MPathText.append(link, into: &out)
        }
    }

    /// Decodes one value, typed as `type` when given (a value that does not fit is a `typeMismatch`).
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, as type: LwM2MResourceType?
    ) throws(LwM2MCodecError) -> LwM2MValue {
        var reader = CBORReader(bytes)
        let value = try readValue(&reader, as: type)
        try reader.finish()
        return value
    }

    /// Reads one leaf value (also used by LwM2M CBOR).
    static func readValue(_ reader: inout CBORReader, as type: LwM2MResourceType?) throws(LwM2MCodecError)
        -> LwM2MValue
    {
        let start = reader.offset
        let untyped = try readUntyped(&reader, start: start)
        guard let type, type != .none else { return untyped }
        if untyped.type == type { return untyped }
        guard let typed = untyped.coerced(to: type) else {
            throw LwM2MCodecError(
                code: .typeMismatch, reason: "\(untyped.type.rawValue) value does not fit a \(type.rawValue) resource",
                offset: start)
        }
        return typed
    }

    /// Reads one leaf value without typing it: the common items inline, the rest (tags, indefinite strings,
    /// errors) through `CBORReader.next()`.
    @inline(__always)
    static func readUntyped(_ reader: inout CBORReader, start: Int) throws(LwM2MCodecError) -> LwM2MValue {
        if let n = reader.fastNumber() {
            switch n {
            case .integer(let i): return .integer(i)
            case .unsigned(let u): return .unsignedInteger(u)
            case .float(let d): return .float(d)
            }
        }
        if let (s, e) = reader.fastString(3) {
            if let text = WireString.span(s, e).string(in: reader.input) { return .string(text) }
            reader.offset = start  // not UTF-8: reported below
        } else if let (s, e) = reader.fastString(2) {
            return .opaque([UInt8](UnsafeRawBufferPointer(rebasing: reader.input[s..<e])))
        } else if start < reader.input.count, reader.input[start] | 1 == 0xF5 {
            reader.offset = start + 1
            return .boolean(reader.input[start] == 0xF5)
        }
        return try readItem(&reader, start: start)
    }

    /// Reads one leaf value through `CBORReader.next()` (any form the format allows).
    private static func readItem(_ reader: inout CBORReader, start: Int) throws(LwM2MCodecError) -> LwM2MValue {
        var item = try reader.next()
        var epochTagged = false
        if case .tag(let tag) = item {
            guard tag == 1 else { throw WireError.typeMismatch(start, "unexpected CBOR tag \(tag)") }
            epochTagged = true
            item = try reader.next()
        }
        let untyped: LwM2MValue
        switch item {
        case .unsigned(let u):
            untyped = u <= UInt64(Int64.max) ? (epochTagged ? .time(Int64(u)) : .integer(Int64(u))) : .unsignedInteger(u)
        case .negative(let n):
            guard n <= UInt64(Int64.max) else { throw WireError.typeMismatch(start, "integer below the 64-bit range") }
            untyped = epochTagged ? .time(-1 - Int64(n)) : .integer(-1 - Int64(n))
        case .float(let d):
            untyped = .float(d)
        case .text(let s) where !epochTagged:
            guard let text = s.string(in: reader.input) else { throw WireError.malformed(start, "text is not UTF-8") }
            untyped = .string(text)
        case .bytes(let s) where !epochTagged:
            untyped = .opaque(s.bytes(in: reader.input))
        case .bool(let b) where !epochTagged:
            untyped = .boolean(b)
        default:
            throw WireError.typeMismatch(start, "not an LwM2M value")
        }
        return untyped
    }
}
