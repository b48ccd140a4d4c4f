// swift-tools-version: 6.1
import PackageDescription

import struct Foundation.URL

// The root package is a path dependency; SwiftPM names it after its folder, whatever the clone is called.
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent.lowercased()

// MARK: - External products

let benchmark: Target.Dependency = .product(name: "Benchmark", package: "benchmark")
let benchmarkPlugin: Target.PluginUsage = .plugin(name: "BenchmarkPlugin", package: "benchmark")

// MARK: - Package

let package = Package(
    name: "swift-lwm2m-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "CoAPBenchmarks",
            dependencies: [
                benchmark,
                .product(name: "CoAPCore", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/CoAPBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [benchmarkPlugin]
        ),
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: [
                benchmark,
                .product(name: "Codecs", package: root),
                .product(name: "LwM2MModel", package: root),
            ],
            path: "Benchmarks/CodecBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [benchmarkPlugin]
        ),
        .executableTarget(
            name: "ModelBenchmarks",
            dependencies: [
                benchmark,
                .product(name: "LwM2MModel", package: root),
            ],
            path: "Benchmarks/ModelBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [benchmarkPlugin]
        ),
        // Helpers shared by the benchmark executables (resident memory).
        .target(name: "BenchmarkSupport", path: "Benchmarks/BenchmarkSupport", swiftSettings: [.swiftLanguageMode(.v6)]),
        .target(name: "CHeapInfo", path: "Benchmarks/CHeapInfo", linkerSettings: [.linkedLibrary("crypto")]),
        .executableTarget(
            name: "DTLSBenchmarks",
            dependencies: [
                benchmark,
                "CHeapInfo",
                .product(name: "DTLSTransport", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/DTLSBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [benchmarkPlugin]
        ),
        // Not a benchmark: runs N handshakes (or record round trips) of one kind for instruction counts with
        // `valgrind --tool=callgrind` (see docs/DTLSTransport.md).
        .executableTarget(
            name: "DTLSProfile",
            dependencies: [
                .product(name: "DTLSTransport", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/DTLSProfile",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "ServerBenchmarks",
            dependencies: [
                benchmark,
                "BenchmarkSupport",
                .product(name: "ServerKit", package: root),
                .product(name: "CoAPCore", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/ServerBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [benchmarkPlugin]
        ),
        .executableTarget(
            name: "ClientBenchmarks",
            dependencies: [
                benchmark,
                "BenchmarkSupport",
                .product(name: "ClientKit", package: root),
                .product(name: "ServerKit", package: root),
                .product(name: "CoAPCore", package: root),
                .product(name: "Codecs", package: root),
                .product(name: "LwM2MModel", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/ClientBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [benchmarkPlugin]
        ),
    ]
)
