import Benchmark
import Codecs
import LwM2MModel

/// A 100-record time series of one temperature resource (a Send/Notify payload), one record per second.
let temperatureSeries: [LwM2MRecord] = (0..<100).map { k in
    LwM2MRecord(
        path: .resource(3303, 0, 5700), value: .float(20 + Double(k % 16) * 0.25),
        timestamp: 1_700_000_000 + Double(k))
}

/// SenML JSON, SenML CBOR, LwM2M CBOR and CBOR rows (owned by the SenML/CBOR codec work).
///
/// Row names avoid spaces and slashes so that the checked-in thresholds (allocation counts per sample of 1000
/// iterations, see `registerTextAndTLVBenchmarks`) are found. Encoders append to one reused buffer, so they must
/// allocate nothing; decoders allocate the result tree and the strings that do not fit inline.
func registerSenMLAndCBORBenchmarks() {
    var config = Benchmark.defaultConfiguration
    config.thresholds = [.mallocCountTotal: BenchmarkThresholds(absolute: [.p90: 100])]
    let node = LwM2MNode.objectInstance(deviceInstance)
    let path = LwM2MPath.instance(3, 0)

    typealias Encode = @Sendable (inout [UInt8]) throws -> Void
    typealias Decode = @Sendable (UnsafeRawBufferPointer) throws -> Void
    let rows: [((format: String, payload: String), Encode, Decode)] = [
        (
            ("SenML-JSON", "device"),
            { out in try SenMLJSONCodec.encode(node, at: path, into: &out) },
            { bytes in blackHole(try SenMLJSONCodec.decode(bytes, at: path, definitions: deviceRegistry)) }
        ),
        (
            ("SenML-CBOR", "device"),
            { out in try SenMLCBORCodec.encode(node, at: path, into: &out) },
            { bytes in blackHole(try SenMLCBORCodec.decode(bytes, at: path, definitions: deviceRegistry)) }
        ),
        (
            ("LwM2M-CBOR", "device"),
            { out in try LwM2MCBORCodec.encode(node, at: path, into: &out) },
            { bytes in blackHole(try LwM2MCBORCodec.decode(bytes, at: path, definitions: deviceRegistry)) }
        ),
        (
            ("SenML-CBOR", "series100"),
            { out in try SenMLCBORCodec.encode(records: temperatureSeries, into: &out) },
            { bytes in blackHole(try SenMLCBORCodec.decodeRecords(bytes, definitions: nil)) }
        ),
        (
            ("CBOR", "integer"),
            { out in CBORValueCodec.encode(.integer(1_367_491_215), into: &out) },
            { bytes in blackHole(try CBORValueCodec.decode(bytes, as: .integer)) }
        ),
    ]

    for (name, encode, decode) in rows {
        Benchmark("\(name.format)-encode-\(name.payload)", configuration: config) { benchmark in
            var out: [UInt8] = []
            out.reserveCapacity(4096)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                out.removeAll(keepingCapacity: true)
                try encode(&out)
                blackHole(out.count)
            }
        }
        var wire: [UInt8] = []
        try? encode(&wire)
        let payload = wire
        Benchmark("\(name.format)-decode-\(name.payload)", configuration: config) { benchmark in
            try payload.withUnsafeBytes { bytes in
                for _ in benchmark.scaledIterations {
                    try decode(bytes)
                }
            }
        }
    }
}
