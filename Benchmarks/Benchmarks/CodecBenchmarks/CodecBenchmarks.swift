import Benchmark

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 1000,
        scalingFactor: .kilo,
        maxDuration: .seconds(2)
    )
    registerCodecBenchmarks()
}
