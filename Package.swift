// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "coordinator",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "coordinator", targets: ["coordinator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.24.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.21.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        // Child processes (Terraform): no Foundation trait, we need none of its Data conveniences.
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2", traits: []),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.5.0"),
    ],
    targets: [
        // support
        // What every layer may share (`Doorbell`, `waitForCancellation`, `oneLine`): the standard library only.
        .target(
            name: "Support",
            swiftSettings: swiftSettings
        ),
        // wire
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ", "WireFormat",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                // SHA-256 of each migration's SQL (the checksum in schema_migrations).
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WebSocket",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WireFormat",
            swiftSettings: swiftSettings
        ),
        // The SCIM filter and PATCH path grammar, sans I/O: no dependencies, so it is testable alone.
        .target(
            name: "SCIMCore",
            swiftSettings: swiftSettings
        ),
        // The replica's Prometheus metrics: one registry per replica, nothing global.
        .target(
            name: "Telemetry",
            dependencies: [.product(name: "Prometheus", package: "swift-prometheus")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ProvisionerProtocol",
            dependencies: ["WireFormat"],
            swiftSettings: swiftSettings
        ),
        // store
        .target(
            name: "Store",
            dependencies: ["Postgres", "ProvisionerProtocol", "WireFormat", "SCIMCore"],
            swiftSettings: swiftSettings
        ),
        // coordination
        .target(
            name: "Pubsub",
            dependencies: [
                "Postgres", "Telemetry", "Support",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Replicas",
            dependencies: [
                "Store", "Pubsub", "Postgres", "Telemetry", "Support",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Provisioning",
            dependencies: [
                "Store", "Postgres", "Pubsub", "ProvisionerProtocol", "WireFormat", "Telemetry",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Licensing",
            dependencies: [
                "Store", "Pubsub", "WireFormat",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ProvisionerDaemon",
            dependencies: [
                "WebSocket", "ProvisionerProtocol", "WireFormat",
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        // HTTP
        .target(
            name: "API",
            dependencies: [
                "Store", "Pubsub", "Replicas", "Provisioning", "ProvisionerProtocol", "Licensing", "WebSocket", "WireFormat", "Telemetry", "Support",
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // Files that are not Swift source, embedded in the binary by the plugin.
            exclude: ["OpenAPI/openapi.json"],
            swiftSettings: swiftSettings,
            plugins: ["EmbedResourcesPlugin"]
        ),
        // build tools
        .executableTarget(name: "EmbedResources", swiftSettings: swiftSettings),
        .plugin(name: "EmbedResourcesPlugin", capability: .buildTool(), dependencies: ["EmbedResources"]),
        // apps
        // The composition root: one replica with every service wired, which the executable only
        // configures and tests start in-process.
        .target(
            name: "CoordinatorServer",
            dependencies: [
                "API", "Store", "Postgres", "Pubsub", "Replicas", "Provisioning", "ProvisionerProtocol", "Licensing", "WebSocket", "Telemetry", "Support",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The commands (`server`, `migrate`, `provisionerd`, `license`): flags and environment into
        // a configuration, parsed the same way by the executable and by tests that run a replica
        // or a daemon in-process.
        .target(
            name: "CoordinatorCommands",
            dependencies: [
                "API",
                "CoordinatorServer",
                "Licensing",
                "Store",
                "Postgres",
                "Replicas",
                "ProvisionerProtocol",
                "ProvisionerDaemon",
                "WireFormat",
                "Support",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Only the `@main` root and its list of subcommands.
        .executableTarget(
            name: "coordinator",
            dependencies: [
                "CoordinatorCommands",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ws-echo",
            dependencies: [
                "WebSocket",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ws-autobahn-client",
            dependencies: [
                "WebSocket",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // tests
        .target(
            name: "TestSupport",
            dependencies: [
                // Store: the migrations the template of `TestDatabase.createMigrated` is made with.
                "Postgres", "Store",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PostgresTests",
            dependencies: ["Postgres", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WebSocketTests",
            dependencies: [
                "WebSocket", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "APITests",
            dependencies: [
                "API", "Store", "Postgres", "Licensing", "TestSupport", "WebSocket", "WireFormat", "Pubsub", "Replicas", "Provisioning", "Telemetry",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WireFormatTests",
            dependencies: ["WireFormat"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SCIMCoreTests",
            dependencies: ["SCIMCore", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StoreTests",
            dependencies: [
                "Store", "Postgres", "TestSupport", "WireFormat",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProvisioningTests",
            dependencies: ["Provisioning", "Store", "ProvisionerProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LicensingTests",
            dependencies: [
                "Licensing", "WireFormat",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ReplicasTests",
            dependencies: ["Replicas", "Pubsub", "Store", "Postgres", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CoordinatorServerTests",
            dependencies: [
                // API: `@testable`, for the test-only password cost of the in-process servers.
                "API", "CoordinatorServer", "Replicas", "Postgres", "Licensing", "Store", "TestSupport", "Telemetry",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CoordinatorTests",
            dependencies: [
                "Postgres", "TestSupport", "WebSocket", "ProvisionerProtocol", "ProvisionerDaemon", "Licensing", "WireFormat",
                // In-process replicas and daemons, from the commands' own flags; API `@testable`,
                // for the test-only password cost.
                "API", "CoordinatorServer", "CoordinatorCommands",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
