import Codecs
import LwM2MModel

// Shared by the CodecBenchmarks target and the valgrind driver (`InstructionCounts/main.swift`), so it does not
// import Benchmark.

/// Keeps `value` alive and opaque to the optimizer (like Benchmark's `blackHole`).
@inline(never)
func keep(_ value: some Any) {}

/// Where the value rows put their results, as the C harness adds each result to a `volatile` sink: adding every
/// operation's result here makes the optimizer compute and store it (a specialized `keep` drops its argument).
/// Read after the run (by the valgrind driver and the benchmark), so the stores are not dead. Only the measured
/// loop, on one thread, writes it.
@exclusivity(unchecked) nonisolated(unsafe) var resultSink = 0

/// Adds `value` to `resultSink`.
@inline(__always)
func sink(_ value: Int) { resultSink &+= value }

/// Adds a decoded value to `resultSink`: its number, flag or object ID, or 1 for a string or bytes (as the C harness
/// adds its text row's result code and value). The switch consumes the value case by case, so a number releases
/// nothing.
@inline(__always)
func sink(_ value: consuming LwM2MValue) {
    switch consume value {
    case .integer(let v), .time(let v): resultSink &+= Int(truncatingIfNeeded: v)
    case .unsignedInteger(let v): resultSink &+= Int(truncatingIfNeeded: v)
    case .float(let d): resultSink &+= Int(truncatingIfNeeded: d.bitPattern)
    case .boolean(let b): resultSink &+= b ? 1 : 0
    case .objectLink(let link): resultSink &+= Int(link.objectID)
    case .string, .coreLink, .opaque: resultSink &+= 1
    }
}

/// Returns `value` through a call the optimizer cannot see into, so a row's input is not a constant it could fold
/// the operation into (the C harness's values cross a call into another translation unit).
@inline(never) @_optimize(none)
func opaque<T>(_ value: T) -> T { value }

/// One measured operation: `encode` rows append to a reused buffer, `encodeInto` rows write into reused
/// caller-provided storage (and return the byte count), `decode` rows read a prepared payload, `decodeInto` rows
/// read it into one node kept across operations (whose arrays the decoder refills). Decode rows throw the decoders'
/// typed error, as a caller of the API gets it (no boxing into `any Error` inside the measured call).
enum CodecOperation {
    case encode(@Sendable (inout [UInt8]) throws -> Void)
    case encodeInto(@Sendable (UnsafeMutableRawBufferPointer) throws -> Int)
    case decode([UInt8], @Sendable (UnsafeRawBufferPointer) throws(LwM2MCodecError) -> Void)
    case decodeInto([UInt8], @Sendable (UnsafeRawBufferPointer, inout LwM2MNode) throws -> Void)

    /// The node a `decodeInto` row starts from (its first operation allocates the arrays the others reuse).
    static var emptyNode: LwM2MNode { .objectInstance(LwM2MObjectInstance(id: 0, resources: [])) }

    /// The size of the storage `encodeInto` rows write into (what the C harness's stack buffer holds).
    static let storageSize = 32

    /// Runs the operation `iterations` times, the same way the benchmark does (outside the harness).
    func run(_ iterations: Int) throws {
        switch self {
        case .encode(let body):
            var out: [UInt8] = []
            out.reserveCapacity(4096)
            for _ in 0..<iterations {
                out.removeAll(keepingCapacity: true)
                try body(&out)
                keep(out.count)
            }
        case .encodeInto(let body):
            try withUnsafeTemporaryAllocation(byteCount: Self.storageSize, alignment: 8) { storage in
                for _ in 0..<iterations {
                    let n = try body(storage)
                    sink(n &+ Int(storage[0]))
                }
            }
        case .decode(let payload, let body):
            try payload.withUnsafeBytes { raw in
                guard iterations > 0 else { return }
                var left = iterations
                repeat {
                    try body(raw)
                    left &-= 1
                } while left != 0
            }
        case .decodeInto(let payload, let body):
            var node = Self.emptyNode
            try payload.withUnsafeBytes { raw in
                for _ in 0..<iterations { try body(raw, &node) }
            }
            keep(node)
        }
    }
}

/// Every codec row, by benchmark name: what `CodecBenchmarks` registers and the valgrind driver counts.
func codecOperations() -> [(name: String, operation: CodecOperation)] {
    textAndTLVOperations() + senMLAndCBOROperations()
}

/// The text/plain and TLV rows, by benchmark name.
///
/// Encoders append to one reused buffer (`removeAll(keepingCapacity: true)`), so any malloc counted is the
/// encoder's own. Decoders allocate only the result tree and the string values that do not fit inline.
func textAndTLVOperations() -> [(name: String, operation: CodecOperation)] {
    let node = LwM2MNode.objectInstance(deviceInstance)
    let path = LwM2MPath.instance(3, 0)
    let codec = LwM2MCodec(definitions: deviceRegistry)
    let tlv = try! LwM2MTLVCodec.encode(node, at: path)
    let batteryPath = LwM2MPath.resource(3, 0, 9)
    let battery = LwM2MNode.resource(.single(9, .integer(100)))
    let batteryText: [UInt8] = Array("100".utf8)
    let batteryValue = opaque(LwM2MValue.integer(100))
    return [
        ("TLV-encode-device", .encode { out in try codec.encode(node, at: path, as: .tlv, into: &out) }),
        (
            "TLV-decode-device",
            .decode(tlv) { (raw) throws(LwM2MCodecError) in keep(try codec.decode(raw, at: path, as: .tlv)) }
        ),
        (
            "TLV-decode-device-reuse",
            .decodeInto(tlv) { raw, node in try codec.decode(raw, at: path, as: .tlv, into: &node) }
        ),
        (
            "text-encode-integer",
            .encode { out in try codec.encode(battery, at: batteryPath, as: .textPlain, into: &out) }
        ),
        (
            "text-decode-integer",
            .decode(batteryText) { (raw) throws(LwM2MCodecError) in
                keep(try codec.decode(raw, at: batteryPath, as: .textPlain))
            }
        ),
        // The bare value codec, without the facade's path check and definition lookup (what a C codec measures):
        // the text written into reused caller-provided storage, as the C harness writes into a stack buffer.
        (
            "text-encode-integer-value",
            .encodeInto { storage in try LwM2MTextCodec.encode(batteryValue, into: storage) }
        ),
        // The same into a reused array (the harness empties it before each operation).
        (
            "text-encode-integer-value-array",
            .encode { out in try LwM2MTextCodec.encode(batteryValue, into: &out) }
        ),
        (
            "text-decode-integer-value",
            .decode(batteryText) { (raw) throws(LwM2MCodecError) in sink(try LwM2MTextCodec.decode(raw, as: .integer)) }
        ),
    ]
}

/// A 100-record time series of one temperature resource (a Send/Notify payload), one record per second.
let temperatureSeries: [LwM2MRecord] = (0..<100).map { k in
    LwM2MRecord(
        path: .resource(3303, 0, 5700), value: .float(20 + Double(k % 16) * 0.25),
        timestamp: 1_700_000_000 + Double(k))
}

/// The SenML JSON, SenML CBOR, LwM2M CBOR and CBOR rows, by benchmark name; each decode row reads what its
/// encode row writes.
func senMLAndCBOROperations() -> [(name: String, operation: CodecOperation)] {
    let node = LwM2MNode.objectInstance(deviceInstance)
    let path = LwM2MPath.instance(3, 0)
    typealias Encode = @Sendable (inout [UInt8]) throws -> Void
    typealias Decode = @Sendable (UnsafeRawBufferPointer) throws(LwM2MCodecError) -> Void
    let rows: [(name: (format: String, payload: String), encode: Encode, decode: Decode)] = [
        (
            ("SenML-JSON", "device"),
            { out in try SenMLJSONCodec.encode(node, at: path, into: &out) },
            { (bytes) throws(LwM2MCodecError) in
                keep(try SenMLJSONCodec.decode(bytes, at: path, definitions: deviceRegistry))
            }
        ),
        (
            ("SenML-CBOR", "device"),
            { out in try SenMLCBORCodec.encode(node, at: path, into: &out) },
            { (bytes) throws(LwM2MCodecError) in
                keep(try SenMLCBORCodec.decode(bytes, at: path, definitions: deviceRegistry))
            }
        ),
        (
            ("LwM2M-CBOR", "device"),
            { out in try LwM2MCBORCodec.encode(node, at: path, into: &out) },
            { (bytes) throws(LwM2MCodecError) in
                keep(try LwM2MCBORCodec.decode(bytes, at: path, definitions: deviceRegistry))
            }
        ),
        (
            ("SenML-CBOR", "series100"),
            { out in try SenMLCBORCodec.encode(records: temperatureSeries, into: &out) },
            { (bytes) throws(LwM2MCodecError) in keep(try SenMLCBORCodec.decodeRecords(bytes, definitions: nil)) }
        ),
        (
            ("CBOR", "integer"),
            { out in CBORValueCodec.encode(.integer(1_367_491_215), into: &out) },
            { (bytes) throws(LwM2MCodecError) in keep(try CBORValueCodec.decode(bytes, as: .integer)) }
        ),
    ]
    // The decode rows that reuse one node, through the facade (as a server decodes payload after payload).
    let codec = LwM2MCodec(definitions: deviceRegistry)
    let reuseFormats: [String: LwM2MContentFormat] = [
        "SenML-JSON": .senmlJSON, "SenML-CBOR": .senmlCBOR, "LwM2M-CBOR": .lwm2mCBOR,
    ]
    return rows.flatMap { row -> [(name: String, operation: CodecOperation)] in
        var wire: [UInt8] = []
        try! row.encode(&wire)
        var operations: [(name: String, operation: CodecOperation)] = [
            ("\(row.name.format)-encode-\(row.name.payload)", .encode(row.encode)),
            ("\(row.name.format)-decode-\(row.name.payload)", .decode(wire, row.decode)),
        ]
        if row.name.payload == "device", let format = reuseFormats[row.name.format] {
            operations.append((
                "\(row.name.format)-decode-device-reuse",
                .decodeInto(wire) { raw, node in try codec.decode(raw, at: path, as: format, into: &node) }
            ))
        }
        return operations
    }
}
