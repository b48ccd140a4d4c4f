import LwM2MModel

/// What the shared SenML pack reader needs from one representation (JSON or CBOR): walking the pack's records and
/// their labels, and reading the few kinds of values SenML has. Each method throws the representation's own
/// errors, with the offsets it always reported.
protocol SenMLSyntax {
    /// The input.
    var input: UnsafeRawBufferPointer { get }
    /// The offset of the next byte to read.
    var offset: Int { get }
    /// Reads the pack's opening; the number of records when the pack states it.
    mutating func beginPack() throws(LwM2MCodecError) -> Int?
    /// Whether another record follows; `offset` is then at its first byte.
    mutating func nextRecord() throws(LwM2MCodecError) -> Bool
    /// Reads a record's opening.
    mutating func beginRecord() throws(LwM2MCodecError)
    /// The next label of the record and its offset, or `nil` at the record's end.
    mutating func nextLabel() throws(LwM2MCodecError) -> (label: SenMLResolver.Label, offset: Int)?
    /// Moves to the first byte of the label's value.
    mutating func beginValue() throws(LwM2MCodecError)
    /// A text value.
    mutating func text() throws(LwM2MCodecError) -> WireString
    /// A numeric value.
    mutating func number() throws(LwM2MCodecError) -> JSONReader.Number
    /// A boolean value (`vb`).
    mutating func bool() throws(LwM2MCodecError) -> Bool
    /// A data value (`vd`).
    mutating func data() throws(LwM2MCodecError) -> [UInt8]
    /// Skips a value of an ignored label.
    mutating func skipValue() throws(LwM2MCodecError)
    /// Throws unless the whole input has been read.
    mutating func finish() throws(LwM2MCodecError)
}

/// Receives the resolved records of a payload in order.
protocol LwM2MRecordSink {
    /// Prepares for about `count` records.
    mutating func reserve(_ count: Int)
    /// Takes one record; `false` stops decoding (the caller then takes another way).
    mutating func add(_ path: LwM2MPath, _ value: consuming LwM2MValue?, timestamp: Double?) -> Bool
}

/// Collects records into an array.
struct LwM2MRecordCollector: LwM2MRecordSink {
    /// The records so far.
    var records: [LwM2MRecord] = []

    @inline(__always)
    mutating func reserve(_ count: Int) { records.reserveCapacity(count) }

    /// Out of line on purpose: inlined into the decoders' per-kind calls, the record was built twice and copied
    /// where the compiler merged their tails (an outlined copy and destroy of the record per record).
    @inline(never)
    mutating func add(_ path: LwM2MPath, _ value: consuming LwM2MValue?, timestamp: Double?) -> Bool {
        records.append(LwM2MRecord(path: path, value: value, timestamp: timestamp))
        return true
    }
}

/// Reads a SenML pack of either representation (RFC 8428 section 4 with the LwM2M rules of Core TS 1.1.1 section
/// 7.4.5): one decoder for SenML JSON and SenML CBOR.
enum SenMLPackReader {
    /// Reads every record into `sink`; `false` when the sink stopped early.
    @inline(__always)
    static func read<Syntax: SenMLSyntax, Sink: LwM2MRecordSink>(
        _ syntax: inout Syntax, into sink: inout Sink
    ) throws(LwM2MCodecError) -> Bool {
        var resolver = SenMLResolver(syntax.input)
        let count = try syntax.beginPack()
        sink.reserve(count ?? min(syntax.input.count / 12, 1024))  // a JSON record takes at least ~12 bytes
        while try syntax.nextRecord() {
            let start = syntax.offset
            let fields = try readRecord(&syntax)
            guard try resolver.resolve(fields, at: start, into: &sink) else { return false }
        }
        try syntax.finish()
        return true
    }

    /// Decodes the node at `path`: straight into the node when the records come in path order, else (and for
    /// every error about the records' paths or values) through `LwM2MNode(records:at:definitions:)`.
    @inline(__always)
    static func decodeNode<Syntax: SenMLSyntax>(
        _ syntax: Syntax, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?,
        reusing storage: inout LwM2MNodeStorage
    ) throws(LwM2MCodecError) -> LwM2MNode {
        if var builder = LwM2MNodeBuilder(at: path, definitions: definitions, reusing: &storage) {
            var reader = syntax
            if try read(&reader, into: &builder), let node = builder.finish() { return node }
        }
        var reader = syntax
        var collector = LwM2MRecordCollector()
        _ = try read(&reader, into: &collector)
        return try LwM2MNode(records: collector.records, at: path, definitions: definitions)
    }

    /// Decodes every record, typed by `definitions` where known.
    @inline(__always)
    static func decodeRecords<Syntax: SenMLSyntax>(
        _ syntax: Syntax, definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> [LwM2MRecord] {
        var reader = syntax
        var collector = LwM2MRecordCollector()
        _ = try read(&reader, into: &collector)
        return try LwM2MRecord.typedRecords(collector.records, definitions: definitions)
    }

    /// Reads one record's fields.
    @inline(__always)
    private static func readRecord<Syntax: SenMLSyntax>(
        _ syntax: inout Syntax
    ) throws(LwM2MCodecError) -> SenMLResolver.Fields {
        var fields = SenMLResolver.Fields()
        try syntax.beginRecord()
        while let (l, keyOffset) = try syntax.nextLabel() {
            guard fields.see(l) else { throw WireError.malformed(keyOffset, "repeated label or second value") }
            try syntax.beginValue()
            let valueOffset = syntax.offset
            switch l {
            case .baseName: fields.baseName = try syntax.text()
            case .name: fields.name = try syntax.text()
            case .baseTime: fields.baseTime = try syntax.number().double
            case .time: fields.time = try syntax.number().double
            case .baseValue: fields.baseValue = try syntax.number().double
            case .baseVersion:
                guard case .integer(let v) = try syntax.number(), v >= 1, v <= 10 else {
                    throw WireError.malformed(valueOffset, "unsupported SenML version")
                }
            case .value:
                switch try syntax.number() {
                case .integer(let i): fields.value = .integer(i)
                case .unsigned(let u): fields.value = .unsigned(u)
                case .float(let d): fields.value = .float(d)
                }
            case .stringValue: fields.value = .string(try syntax.text())
            case .objectLinkValue: fields.value = .objectLink(try syntax.text())
            case .boolValue: fields.value = .bool(try syntax.bool())
            case .dataValue: fields.value = .data(try syntax.data())
            case .mustUnderstand:
                throw LwM2MCodecError(code: .malformed, reason: "unknown must-understand label", offset: keyOffset)
            default:
                try syntax.skipValue()
            }
        }
        return fields
    }
}
