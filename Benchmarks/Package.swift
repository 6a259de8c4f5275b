// swift-tools-version: 6.2
// Benchmarks for the WebSocket layer, kept out of the main package so that its build and CI
// never pay for ordo-one/benchmark, hummingbird-websocket or release builds.
//
// `Sources/WebSocket` and `Sources/ws-echo` are symbolic links to the main package's sources:
// the main package exports no library product, and the benchmarks must measure the same code.
import PackageDescription

let package = Package(
    name: "Benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.0"),
    ],
    targets: [
        .target(
            name: "WebSocket",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: [
                "WebSocket",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            path: "Benchmarks/CodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Our echo server, the same code as the main package's ws-echo.
        .executableTarget(
            name: "ws-echo",
            dependencies: [
                "WebSocket",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The reference: an echo server on hummingbird-websocket (NIOWebSocket/WSCore underneath).
        .executableTarget(
            name: "hb-ws-echo",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The load client every echo server is measured with.
        .executableTarget(
            name: "ws-load",
            dependencies: [
                "WebSocket",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)
