// swift-tools-version:6.0
import PackageDescription

// Dependencies point one way: kernels ← formats ← models ← engine ← CLI; JSON ← grammar ← engine.
let package = Package(
    name: "swift-vllm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vllm", targets: ["vllm"]),
        .library(name: "VLLMServer", targets: ["VLLMServer"]),
        .library(name: "VLLMEngine", targets: ["VLLMEngine"]),
        .library(name: "VLLMModels", targets: ["VLLMModels"]),
        .library(name: "VLLMModelFormats", targets: ["VLLMModelFormats"]),
        .library(name: "VLLMTokenizers", targets: ["VLLMTokenizers"]),
        .library(name: "VLLMChatTemplates", targets: ["VLLMChatTemplates"]),
        .library(name: "VLLMKernels", targets: ["VLLMKernels"]),
        .library(name: "VLLMHub", targets: ["VLLMHub"]),
        .library(name: "VLLMJSON", targets: ["VLLMJSON"]),
        .library(name: "VLLMGrammar", targets: ["VLLMGrammar"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
    ],
    targets: [
        .target(name: "CVLLMKernels"),
        .target(name: "VLLMKernels", dependencies: ["CVLLMKernels"]),
        .target(name: "VLLMModelFormats"),
        .target(name: "VLLMJSON", dependencies: [.product(name: "OrderedCollections", package: "swift-collections")]),
        .target(name: "VLLMTokenizers", dependencies: [
            "VLLMModelFormats", .product(name: "HeapModule", package: "swift-collections"),
        ]),
        .target(name: "VLLMChatTemplates", dependencies: [
            "VLLMJSON", .product(name: "OrderedCollections", package: "swift-collections"),
        ]),
        .target(name: "VLLMGrammar", dependencies: ["VLLMJSON"]),
        .target(name: "VLLMModels", dependencies: ["VLLMKernels", "VLLMModelFormats"]),
        .target(name: "VLLMHub", dependencies: ["VLLMModelFormats", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "VLLMEngine", dependencies: [
            "VLLMModels", "VLLMTokenizers", "VLLMChatTemplates", "VLLMHub", "VLLMGrammar", "VLLMJSON",
            .product(name: "DequeModule", package: "swift-collections"),
        ]),
        .target(name: "VLLMServer", dependencies: [
            "VLLMEngine", "VLLMChatTemplates", "VLLMModelFormats", "VLLMJSON", "VLLMGrammar",
            .product(name: "OrderedCollections", package: "swift-collections"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "vllm", dependencies: [
            "VLLMEngine", "VLLMServer", "VLLMTokenizers", "VLLMChatTemplates", "VLLMModelFormats", "VLLMGrammar", "VLLMJSON",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Fuzz harnesses (tools/fuzz.sh builds them with libFuzzer; a normal build replays saved inputs).
        .target(name: "VLLMFuzzing", dependencies: [
            "VLLMModelFormats", "VLLMModels", "VLLMTokenizers", "VLLMChatTemplates", "VLLMEngine", "VLLMServer",
            .product(name: "OrderedCollections", package: "swift-collections"),
        ]),
        .executableTarget(name: "vllm-fuzz", dependencies: ["VLLMFuzzing"]),
        .testTarget(name: "VLLMKernelsTests", dependencies: ["VLLMKernels", "CVLLMKernels"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VLLMModelFormatsTests", dependencies: ["VLLMModelFormats"]),
        .testTarget(name: "VLLMJSONTests", dependencies: ["VLLMJSON"]),
        .testTarget(name: "VLLMGrammarTests", dependencies: ["VLLMGrammar", "VLLMJSON", "VLLMTokenizers", "VLLMModelFormats"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "VLLMTokenizersTests", dependencies: ["VLLMTokenizers", "VLLMModelFormats"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VLLMChatTemplatesTests", dependencies: [
            "VLLMChatTemplates", .product(name: "OrderedCollections", package: "swift-collections"),
        ], resources: [.copy("Fixtures")]),
        .testTarget(name: "VLLMModelsTests", dependencies: ["VLLMModels", "CVLLMKernels"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VLLMEngineTests", dependencies: ["VLLMEngine", "VLLMModels", "VLLMKernels", "VLLMTokenizers", "VLLMGrammar"]),
        .testTarget(name: "VLLMFuzzingTests", dependencies: ["VLLMFuzzing"]),
        .testTarget(name: "VLLMServerTests", dependencies: [
            "VLLMServer", .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
