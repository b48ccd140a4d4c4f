// swift-tools-version: 6.1
import PackageDescription

// MARK: - Shared settings

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// MARK: - External products

let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let dequeModule: Target.Dependency = .product(name: "DequeModule", package: "swift-collections")

// MARK: - Package

let package = Package(
    name: "swift-lwm2m",
    products: [
        .library(name: "CoAPCore", targets: ["CoAPCore"]),
        .library(name: "LwM2MModel", targets: ["LwM2MModel"]),
        .library(name: "Codecs", targets: ["Codecs"]),
        .library(name: "DTLSTransport", targets: ["DTLSTransport"]),
        .library(name: "ClientKit", targets: ["ClientKit"]),
        .executable(name: "lwm2m-client", targets: ["lwm2m-client"]),
        .library(name: "ServerKit", targets: ["ServerKit"]),
        .executable(name: "lwm2m-server", targets: ["lwm2m-server"]),
        .library(name: "BootstrapKit", targets: ["BootstrapKit"]),
        .executable(name: "lwm2m-bootstrap", targets: ["lwm2m-bootstrap"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // MARK: CoAP
        .target(
            name: "CoAPCore",
            dependencies: [nioCore, nioPosix, logging, dequeModule],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CoAPCoreTests",
            dependencies: ["CoAPCore", "LwM2MTestPKI", nioCore, nioPosix],
            swiftSettings: swiftSettings
        ),

        // MARK: DTLS
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "DTLSTransport",
            dependencies: ["CoAPCore", "COpenSSL", nioCore, nioPosix, logging],
            swiftSettings: swiftSettings
        ),
        // Test support (no library depends on it): keys and certificates generated with openssl, the runner
        // for child processes (libcoap tools, the package's own executables) and the queue of their output lines,
        // and `driving` (runs a task on a virtual clock), shared by the test targets.
        .target(
            name: "LwM2MTestPKI",
            dependencies: ["CoAPCore", nioCore, nioPosix],
            path: "Tests/LwM2MTestPKI",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DTLSTransportTests",
            dependencies: ["DTLSTransport", "CoAPCore", "LwM2MTestPKI", nioCore, nioPosix, logging],
            swiftSettings: swiftSettings
        ),

        // MARK: LwM2M model
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        // The OMA DDF files shipped with the package live in `Registry/objects` at the package root; the
        // folder is a small resource target so that SwiftPM bundles them (see Registry/README.md).
        .target(
            name: "LwM2MRegistryResources",
            path: "Registry",
            exclude: ["README.md"],
            sources: ["LwM2MRegistryResources.swift"],
            resources: [.copy("objects")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LwM2MModel",
            dependencies: ["CLibXML2", "LwM2MRegistryResources"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LwM2MModelTests",
            dependencies: ["LwM2MModel"],
            swiftSettings: swiftSettings
        ),

        // MARK: Codecs
        .target(
            name: "Codecs",
            dependencies: ["LwM2MModel"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CodecsTests",
            dependencies: ["Codecs", "LwM2MModel"],
            swiftSettings: swiftSettings
        ),

        // MARK: Client
        .target(
            name: "ClientKit",
            dependencies: ["CoAPCore", "DTLSTransport", "LwM2MModel", "Codecs", nioCore, logging],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ClientKitTests",
            dependencies: ["ClientKit", "CoAPCore", "DTLSTransport", "LwM2MModel", "Codecs", "LwM2MTestPKI", nioCore],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lwm2m-client",
            dependencies: ["ClientKit", "CoAPCore", "LwM2MModel", nioCore, nioPosix, logging, argumentParser],
            swiftSettings: swiftSettings
        ),

        // MARK: ServerKit
        .target(
            name: "ServerKit",
            dependencies: ["CoAPCore", "LwM2MModel", "Codecs", nioCore, logging],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lwm2m-server",
            dependencies: [
                "ServerKit", "CoAPCore", "LwM2MCommandSupport", "LwM2MModel", "Codecs", argumentParser, logging, nioCore,
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ServerKitTests",
            dependencies: ["ServerKit", "CoAPCore", "LwM2MModel", "Codecs", "LwM2MTestPKI", nioCore, logging],
            swiftSettings: swiftSettings
        ),
        // MARK: Integration (ServerKit <-> ClientKit, in memory and as processes)
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "ServerKit", "ClientKit", "BootstrapKit", "CoAPCore", "DTLSTransport", "LwM2MModel", "Codecs", "LwM2MTestPKI",
                nioCore, "lwm2m-server", "lwm2m-client", "lwm2m-bootstrap",
            ],
            swiftSettings: swiftSettings
        ),
        // MARK: Executable support (not a product): the command-line options and their assembly shared by the
        // executables (the security options of lwm2m-server and lwm2m-bootstrap).
        .target(
            name: "LwM2MCommandSupport",
            dependencies: ["CoAPCore", "DTLSTransport", "LwM2MModel", argumentParser, logging],
            swiftSettings: swiftSettings
        ),
        // MARK: Bootstrap server
        .target(
            name: "BootstrapKit",
            dependencies: ["CoAPCore", "LwM2MModel", "Codecs", logging, nioCore],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BootstrapKitTests",
            dependencies: ["BootstrapKit", "CoAPCore", "LwM2MModel", "Codecs", "LwM2MTestPKI", "lwm2m-bootstrap", nioCore, logging],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lwm2m-bootstrap",
            dependencies: [
                "BootstrapKit", "CoAPCore", "LwM2MCommandSupport", "LwM2MModel", argumentParser, logging, nioCore, nioPosix,
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
