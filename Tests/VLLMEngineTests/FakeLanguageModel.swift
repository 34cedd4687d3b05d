import Foundation
import VLLMEngine
import VLLMKernels
import VLLMModels
import VLLMTokenizers

/// A model with no weights that checks the engine's bookkeeping through the `LanguageModel` protocol: each new token
/// is written into its KV cache slot (one layer, one head of one f32 value), and a token's next token is computed
/// from the whole context read back through the sequence's block table: `(sum of the context's ids + position) %
/// vocabulary`. A wrong block table, a block freed or shared too early, or a position skipped or computed twice
/// changes the output, which `FakeLanguageModel.expected` computes from the plain token list. With a sliding window W
/// a second layer, in a KV cache group of its own, adds the sum of the last W ids, read back through that group's
/// table (whose blocks before the window the engine releases).

final class FakeLanguageModel: LanguageModel, @unchecked Sendable {
    let configuration: ModelConfiguration
    let weightTypeDescription = "none"
    let packedWeightBytes = 0
    let threadPool = ThreadPool(threadCount: 1)
    var profiler: Profiler?
    /// Tokens each forward pass computed, in order.
    private(set) var computedTokens: [Int] = []
    private let logits = AlignedBuffer<Float>()

    let slidingWindow: Int?
    var slidingWindows: [Int?] { slidingWindow == nil ? [nil] : [nil, slidingWindow] }

    init(vocabulary: Int = 64, maxPositions: Int = 256, slidingWindow: Int? = nil) {
        self.slidingWindow = slidingWindow
        configuration = ModelConfiguration(architecture: "fake", hiddenSize: 1, intermediateSize: 1, layerCount: slidingWindow == nil ? 1 : 2,
                                           headCount: 1, kvHeadCount: 1, headDim: 1, vocabularySize: vocabulary, maxPositions: maxPositions)
    }

    /// The token the model produces after `context` (prompt and output so far).
    static func expected(after context: [Int32], vocabulary: Int = 64, slidingWindow: Int? = nil) -> Int32 {
        let windowSum = slidingWindow.map { context.suffix($0).reduce(0) { $0 + Int($1) } } ?? 0
        return Int32((context.reduce(0) { $0 + Int($1) } + windowSum + context.count - 1) % vocabulary)
    }

    /// The greedy continuation of `prompt`, `count` tokens long.
    static func greedy(_ prompt: [Int32], count: Int, slidingWindow: Int? = nil) -> [Int32] {
        var context = prompt
        for _ in 0..<count { context.append(expected(after: context, slidingWindow: slidingWindow)) }
        return Array(context[prompt.count...])
    }

    func forward(_ batch: ForwardBatch, cache: PagedKVCache) -> UnsafeBufferPointer<Float> {
        precondition(cache.type == .f32)
        let vocabulary = configuration.vocabularySize
        let rows = batch.logitIndices
        let out = logits.reserve(max(1, rows.count) * vocabulary)
        out.initialize(repeating: 0, count: max(1, rows.count) * vocabulary)
        computedTokens.append(batch.tokens.count)
        for sequence in batch.sequences {
            // Each layer's K slots through its group's table: (values, slot of a position).
            let layers = (0..<configuration.layerCount).map { layer -> (UnsafeMutablePointer<Float>, (Int) -> Int) in
                let (keys, _, group) = cache.layer(layer)
                let table = sequence.blockTables[group]
                return (keys.assumingMemoryBound(to: Float.self), { p in
                    precondition(table[p / cache.blockSize] >= 0, "read a released block")
                    return Int(table[p / cache.blockSize]) * cache.blockSize + p % cache.blockSize
                })
            }
            for i in 0..<sequence.tokenCount {
                let position = sequence.startPosition + i
                for (values, slot) in layers { values[slot(position)] = Float(batch.tokens[sequence.tokenStart + i]) }
            }
            for i in 0..<sequence.tokenCount {
                guard let row = rows.firstIndex(of: sequence.tokenStart + i) else { continue }
                let position = sequence.startPosition + i
                var sum = 0
                for p in 0...position { sum += Int(layers[0].0[layers[0].1(p)]) }
                if let window = slidingWindow {
                    for p in max(0, position - window + 1)...position { sum += Int(layers[1].0[layers[1].1(p)]) }
                }
                // Hidden states (pooling): one value a token, its context's sum plus its position.
                if batch.output == .hiddenStates { out[row] = Float(sum + position); continue }
                out[row * vocabulary + (sum + position) % vocabulary] = 1
            }
        }
        return UnsafeBufferPointer(start: out, count: rows.count * (batch.output == .hiddenStates ? 1 : vocabulary))
    }

    /// A tokenizer whose tokens are "t0" ... "t(n-1)" (no merges, no end-of-generation id).
    static func tokenizer(vocabulary: Int = 64) throws -> Tokenizer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fake-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var tokens: [String: Int] = [:]
        for id in 0..<vocabulary { tokens["t\(id)"] = id }
        let json: [String: Any] = [
            "model": ["type": "BPE", "vocab": tokens, "merges": [String]()],
            "pre_tokenizer": ["type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "never"],
        ]
        try JSONSerialization.data(withJSONObject: json).write(to: directory.appendingPathComponent("tokenizer.json"))
        return try Tokenizer(huggingFaceDirectory: directory.path)
    }
}
