import ArgumentParser
import Foundation
import VLLMGrammar
import VLLMTokenizers

/// `vllm bench grammar`: how long the grammar engine takes to compile a schema and to fill one step's token mask, on a
/// model's real vocabulary (issue 24's targets: under 50 ms and under 50 µs median on Qwen2.5's 151,936 tokens).
struct BenchGrammar: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grammar", abstract: "Grammar engine: schema compile time and per-step token mask time.")

    @Option(name: .long, help: "Model or tokenizer GGUF whose vocabulary to use (default: llama.cpp's Qwen2 vocabulary GGUF).")
    var model: String?

    @Option(name: .customLong("vocab-size"), help: "Logits row width (default: 151936, Qwen2.5's).")
    var vocabSize: Int = 151_936

    @Option(name: .long, help: "Random walks per schema.")
    var walks: Int = 40

    @Option(name: .customLong("steps-per-walk"), help: "Steps per walk at most.")
    var stepsPerWalk: Int = 40

    func run() throws {
        let cache = ProcessInfo.processInfo.environment["SWIFT_VLLM_CACHE"] ?? NSHomeDirectory() + "/.cache/swift-vllm"
        let qwen = cache + "/llama_cpp_python-0.3.36/vendor/llama.cpp/models/ggml-vocab-qwen2.gguf"
        let tokenizer = try TokenizerLoading.load(model ?? qwen)
        let bytes = (0..<tokenizer.vocabularySize).map { i -> [UInt8] in
            let kind = tokenizer.tokenKind(Int32(i))
            return kind == .control || kind == .unknown ? [] : tokenizer.tokenBytes(Int32(i))
        }
        let size = max(vocabSize, bytes.count)
        let vocabulary = TokenVocabulary(tokenBytes: bytes, endOfGeneration: tokenizer.endOfGenerationIDs, size: size)
        let clock = ContinuousClock()
        let start = clock.now
        _ = GrammarCompiler(vocabulary: vocabulary)
        print("vocabulary: \(bytes.count) tokens, row width \(size); sorted trie built in \(clock.now - start) (once per compiler)")
        var bench = GrammarBenchmark(vocabulary: vocabulary, vocabularySize: size, endOfGeneration: tokenizer.endOfGenerationIDs)
        bench.walks = walks
        bench.stepsPerWalk = stepsPerWalk
        print(GrammarBenchmark.report(try bench.run()))
    }
}
