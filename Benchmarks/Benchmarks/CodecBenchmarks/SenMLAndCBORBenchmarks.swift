import Benchmark
import Codecs

/// SenML JSON, SenML CBOR, LwM2M CBOR and CBOR rows (owned by the SenML/CBOR codec work).
func registerSenMLAndCBORBenchmarks() {
}
