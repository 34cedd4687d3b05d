import Foundation

/// Where tools/test.sh puts the reference data (the tests fail, never skip, when it is missing).
enum ReferencePaths {
    static var cache: String { ProcessInfo.processInfo.environment["SWIFT_VLLM_CACHE"] ?? NSHomeDirectory() + "/.cache/swift-vllm" }
    static var llamaCpp: String { cache + "/llama_cpp_python-0.3.36/vendor/llama.cpp" }
    static var vocabDirectory: String { llamaCpp + "/models" }
    static var defaultModel: String { cache + "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }
    static var huggingFaceTokenizers: String { cache + "/hf-tokenizers" }
}
