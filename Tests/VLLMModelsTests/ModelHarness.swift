import Foundation
import VLLMKernels
import VLLMModelFormats
import VLLMModels

/// Loads models for tests and runs prompts through the paged forward pass.
enum ModelHarness {
    static var cache: String { ProcessInfo.processInfo.environment["SWIFT_VLLM_CACHE"] ?? NSHomeDirectory() + "/.cache/swift-vllm" }
    static var defaultModelPath: String { cache + "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }
    static var fixtures: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }

    static func load(_ path: String, threads: Int = 2, dtype: ComputeDType = .auto) throws -> any LanguageModel {
        let location: ModelLocation = path.hasSuffix(".gguf") ? .gguf(path: path) : .huggingFaceDirectory(path: path)
        return try ModelLoader.load(location, pool: ThreadPool(threadCount: threads), dtype: dtype)
    }

    static func cache(for model: any LanguageModel, blocks: Int = 64, blockSize: Int = 16, type: KVCacheType = .f16) -> PagedKVCache {
        let c = model.configuration
        return PagedKVCache(blockCount: blocks, blockSize: blockSize, layerCount: c.layerCount, kvHeadCount: c.kvHeadCount,
                            headDim: c.headDim, type: type)
    }

    /// Logits at every position of `tokens`, computed in one prefill with all positions requested.
    static func allLogits(_ model: any LanguageModel, _ tokens: [Int32], cache: PagedKVCache, blockTable: [Int32]) -> [[Float]] {
        var batch = ForwardBatch()
        batch.append(tokens: tokens, startPosition: 0, blockTable: blockTable)
        batch.extraLogitIndices = Array(0..<tokens.count)
        let out = model.forward(batch, cache: cache)
        let vocab = model.configuration.vocabularySize
        return (0..<tokens.count).map { Array(out[($0 * vocab)..<(($0 + 1) * vocab)]) }
    }

    /// Greedy continuation of `prompt` for `count` tokens.
    static func greedy(_ model: any LanguageModel, _ prompt: [Int32], count: Int, kvType: KVCacheType = .f16) -> [Int32] {
        let cache = cache(for: model, type: kvType)
        let table = (0..<Int32(cache.blockCount)).map { $0 }
        var batch = ForwardBatch()
        batch.append(tokens: prompt, startPosition: 0, blockTable: table)
        var generated: [Int32] = []
        var position = prompt.count
        for _ in 0..<count {
            let logits = model.forward(batch, cache: cache)
            let next = Int32(argmax(Array(logits)))
            generated.append(next)
            batch = ForwardBatch()
            batch.append(tokens: [next], startPosition: position, blockTable: table)
            position += 1
        }
        return generated
    }

    static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return best
    }
}
