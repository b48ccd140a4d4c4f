import Benchmark
import Foundation
import LwM2MModel

/// `../shared/registry` next to the package (test data that is not part of the package), found from this
/// file's path: Benchmarks/Benchmarks/ModelBenchmarks/ModelBenchmarks.swift.
let sharedRegistry: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("../shared/registry").standardizedFileURL.path
}()

/// The lookups the resource benchmark cycles through: (object, version, resource), versioned and latest.
let lookups: [(UInt16, LwM2MVersion?, UInt16)] = [
    (3, .v1_0, 9), (3, .v1_1, 0), (3, nil, 13), (1, .v1_1, 1), (1, .v1_0, 7), (5, nil, 3), (3303, nil, 5700),
    (3311, nil, 5851), (4, nil, 2), (6, nil, 0), (0, nil, 10), (9, nil, 7),
]

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        warmupIterations: 10,
        scalingFactor: .one,
        maxDuration: .seconds(2)
    )

    let builtIn = LwM2MRegistry.builtIn
    precondition(LwM2MRegistry.builtInErrors.isEmpty, "built-in registry failed: \(LwM2MRegistry.builtInErrors)")

    Benchmark(
        "Registry: resource lookup by (object, version, resource), 12 lookups",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal, .throughput],
            warmupIterations: 1000,
            scalingFactor: .kilo,
            thresholds: [.mallocCountTotal: .init(absolute: [.p100: 0])]
        )
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            for (object, version, resource) in lookups {
                blackHole(builtIn.resourceDefinition(objectID: object, version: version, resourceID: resource))
            }
        }
    }

    Benchmark(
        "Registry: object lookup by (object, version)",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal, .throughput],
            warmupIterations: 1000,
            scalingFactor: .kilo,
            thresholds: [.mallocCountTotal: .init(absolute: [.p100: 0])]
        )
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(builtIn.objectDefinition(3, version: .v1_1))
            blackHole(builtIn.latestDefinition(1))
        }
    }

    Benchmark(
        "Path: parse /3/0/11/0",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput], warmupIterations: 1000,
                             scalingFactor: .kilo)
    ) { benchmark in
        let text = "/3/0/11/0"
        for _ in benchmark.scaledIterations {
            blackHole(try LwM2MPath(parsing: text))
        }
    }

    Benchmark(
        "Registry: load built-in Registry/ (13 files)",
        configuration: .init(metrics: [.wallClock, .cpuTotal, .peakMemoryResident, .mallocCountTotal], maxIterations: 50)
    ) { benchmark in
        let folder = LwM2MRegistry.builtInFolder!
        for _ in benchmark.scaledIterations {
            blackHole(LwM2MRegistry.loading(folder: folder))
        }
    }

    if FileManager.default.fileExists(atPath: sharedRegistry + "/objects") {
        Benchmark(
            "Registry: load the public OMA registry from disk (325 files)",
            configuration: .init(
                metrics: [.wallClock, .cpuTotal, .peakMemoryResident, .mallocCountTotal],
                warmupIterations: 1,
                maxDuration: .seconds(10),
                maxIterations: 20
            )
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                let (registry, errors) = LwM2MRegistry.loading(folder: sharedRegistry + "/objects")
                precondition(errors.isEmpty && registry.count == 325)
                blackHole(registry)
            }
        }
    } else {
        print("ModelBenchmarks: \(sharedRegistry) not found; skipping the public registry load benchmark")
    }
}
