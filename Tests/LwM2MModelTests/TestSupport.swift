import Foundation

/// Locations relative to the package root, found from this file's path (never a machine path).
enum TestPaths {
    /// The package root: two levels above `Tests/LwM2MModelTests/`.
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `Registry/objects` at the package root.
    static var registryObjects: String { packageRoot + "/Registry/objects" }

    /// `../shared/registry` next to the package, where the public OMA registry test data lives.
    static var sharedRegistry: String { packageRoot + "/../shared/registry" }

    /// Whether the public registry test data is present (it is not in a user's clone).
    static var sharedRegistryAvailable: Bool {
        FileManager.default.fileExists(atPath: sharedRegistry + "/expected-summary.csv")
    }
}

/// A small deterministic generator (SplitMix64) for property-style tests with a fixed seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
