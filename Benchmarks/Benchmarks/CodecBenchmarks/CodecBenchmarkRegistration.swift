import Benchmark
import Codecs
import LwM2MModel

/// Registers every codec row of `codecOperations()`.
func registerCodecBenchmarks() {
    // Names avoid spaces and slashes: benchmark 1.38 writes threshold files under a sanitized name but reads
    // them under the raw one. Checked-in thresholds hold allocation counts (per sample of 1000 iterations):
    // wall-clock figures on the shared build machine are too noisy to gate on, so instruction counts are
    // gated separately under valgrind (`scripts/instruction-counts.sh`, `Thresholds/CodecBenchmarks.instructions.json`).
    // The malloc tolerance absorbs the harness's own few mallocs per sample while any allocation per
    // operation (1000 per sample) still fails the check.
    var config = Benchmark.defaultConfiguration
    config.thresholds = [.mallocCountTotal: BenchmarkThresholds(absolute: [.p90: 100])]
    for (name, operation) in codecOperations() {
        Benchmark(name, configuration: config) { benchmark in
            switch operation {
            case .encode(let body):
                var out: [UInt8] = []
                out.reserveCapacity(4096)
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    out.removeAll(keepingCapacity: true)
                    try body(&out)
                    blackHole(out.count)
                }
            case .encodeInto(let body):
                try withUnsafeTemporaryAllocation(byteCount: CodecOperation.storageSize, alignment: 8) { storage in
                    benchmark.startMeasurement()
                    for _ in benchmark.scaledIterations {
                        let n = try body(storage)
                        blackHole(n &+ Int(storage[0]))
                    }
                }
            case .decode(let payload, let body):
                try payload.withUnsafeBytes { raw in
                    for _ in benchmark.scaledIterations { try body(raw) }
                }
            case .decodeInto(let payload, let body):
                var node = CodecOperation.emptyNode
                try payload.withUnsafeBytes { raw in
                    try body(raw, &node)  // the first decode allocates the arrays every measured one reuses
                    benchmark.startMeasurement()
                    for _ in benchmark.scaledIterations { try body(raw, &node) }
                }
                blackHole(node)
            }
            blackHole(resultSink)
        }
    }
}
