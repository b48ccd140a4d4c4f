import Benchmark
import Codecs

/// text/plain, opaque and TLV rows (owned by the text/TLV codec work).
func registerTextAndTLVBenchmarks() {
}
