import Benchmark
import Codecs
import LwM2MModel

/// text/plain, opaque and TLV rows (owned by the text/TLV codec work).
///
/// Encoders append to one reused buffer (`removeAll(keepingCapacity: true)`), so any malloc counted is the
/// encoder's own. Decoders allocate only the result tree and the string values that do not fit inline.
func registerTextAndTLVBenchmarks() {
    let node = LwM2MNode.objectInstance(deviceInstance)
    let path = LwM2MPath.instance(3, 0)
    let codec = LwM2MCodec(definitions: deviceRegistry)
    let tlv = try! LwM2MTLVCodec.encode(node, at: path)

    Benchmark("TLV encode /3/0") { benchmark in
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            out.removeAll(keepingCapacity: true)
            try codec.encode(node, at: path, as: .tlv, into: &out)
            blackHole(out.count)
        }
    }

    Benchmark("TLV decode /3/0") { benchmark in
        try tlv.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations {
                blackHole(try codec.decode(raw, at: path, as: .tlv))
            }
        }
    }

    let batteryPath = LwM2MPath.resource(3, 0, 9)
    let battery = LwM2MNode.resource(.single(9, .integer(100)))
    let batteryText: [UInt8] = Array("100".utf8)

    Benchmark("text encode integer /3/0/9") { benchmark in
        var out: [UInt8] = []
        out.reserveCapacity(64)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            out.removeAll(keepingCapacity: true)
            try codec.encode(battery, at: batteryPath, as: .textPlain, into: &out)
            blackHole(out.count)
        }
    }

    Benchmark("text decode integer /3/0/9") { benchmark in
        try batteryText.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations {
                blackHole(try codec.decode(raw, at: batteryPath, as: .textPlain))
            }
        }
    }

    // The bare value codec, without the facade's path check and definition lookup (what a C codec measures).
    Benchmark("text encode integer value") { benchmark in
        var out: [UInt8] = []
        out.reserveCapacity(64)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            out.removeAll(keepingCapacity: true)
            try LwM2MTextCodec.encode(.integer(100), into: &out)
            blackHole(out.count)
        }
    }

    Benchmark("text decode integer value") { benchmark in
        try batteryText.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations {
                blackHole(try LwM2MTextCodec.decode(raw, as: .integer))
            }
        }
    }
}
