import Foundation
import VLLMKernels
import VLLMModelFormats
import VLLMModels
import VLLMTokenizers

/// The result of one completion.
public struct CompletionOutput: Sendable, Equatable {
    public var text: String
    public var tokenIDs: [Int32]
    public var promptTokenIDs: [Int32]
    /// "stop" (end of generation or a stop string/token) or "length" (max_tokens or the context limit).
    public var finishReason: String
}

/// The offline API: a model, its tokenizer and a KV cache in one object.
///
/// This first version runs one sequence at a time over a contiguous run of cache blocks; the scheduler
/// (continuous batching, prefix caching) replaces the loop in `generate` without changing the API.
public final class LLM: @unchecked Sendable {
    public let model: LlamaModel
    public let tokenizer: Tokenizer
    public let options: EngineOptions
    public let maxModelLength: Int
    let cache: PagedKVCache

    /// Loads `model` (a GGUF file, a Hugging Face directory or an `org/name` in the local HF cache; nil = the default model).
    public init(model: String? = nil, options: EngineOptions = EngineOptions()) throws {
        let argument = try model ?? DefaultModel.ensure()
        let location = try ModelLocation.resolve(argument)
        let pool = ThreadPool(threadCount: options.threads ?? ThreadPool.coreCount)
        switch location {
        case .gguf(let path):
            let file = try GGUFFile(path: path)
            self.model = try ModelLoader.load(gguf: file, pool: pool)
            tokenizer = try Tokenizer(gguf: file)
        case .huggingFaceDirectory(let path):
            self.model = try ModelLoader.load(location, pool: pool)
            tokenizer = try Tokenizer(huggingFaceDirectory: path)
        }
        self.options = options
        let c = self.model.configuration
        maxModelLength = min(options.maxModelLength ?? c.maxPositions, c.maxPositions)
        let type = options.kvCacheType ?? (self.model.weightTypeDescription == "F32" ? .f32 : .f16)
        let blocks: Int
        if let gib = options.kvCacheSpaceGiB {
            let perToken = PagedKVCache.bytesPerToken(layerCount: c.layerCount, kvHeadCount: c.kvHeadCount, headDim: c.headDim, type: type)
            blocks = max(1, Int(gib * 1_073_741_824) / (perToken * options.blockSize))
        } else {
            blocks = (maxModelLength + options.blockSize - 1) / options.blockSize
        }
        cache = PagedKVCache(blockCount: blocks, blockSize: options.blockSize, layerCount: c.layerCount,
                             kvHeadCount: c.kvHeadCount, headDim: c.headDim, type: type)
    }

    /// Completes `prompt`, calling `onText` with each new piece of text as soon as it is decoded.
    public func generate(_ prompt: String, _ parameters: SamplingParameters = SamplingParameters(),
                         onText: (String) -> Void = { _ in }) throws -> CompletionOutput {
        try parameters.validate()
        let promptIDs = tokenizer.encode(prompt, addSpecialTokens: true)
        return try generate(promptTokenIDs: promptIDs, parameters, onText: onText)
    }

    /// Completes a tokenized prompt.
    public func generate(promptTokenIDs promptIDs: [Int32], _ parameters: SamplingParameters,
                         onText: (String) -> Void = { _ in }) throws -> CompletionOutput {
        guard !promptIDs.isEmpty else { throw EngineError("the prompt is empty") }
        let capacity = min(maxModelLength, cache.blockCount * cache.blockSize)
        guard promptIDs.count < capacity else {
            throw EngineError("the prompt has \(promptIDs.count) tokens, but this model's maximum context length is \(capacity) tokens")
        }
        let vocabulary = model.configuration.vocabularySize
        if let bad = promptIDs.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
            throw EngineError("token id \(bad) is out of the vocabulary (0..<\(vocabulary))")
        }
        let maxNew = min(parameters.maxTokens ?? capacity, capacity - promptIDs.count)
        let table = (0..<Int32(cache.blockCount)).map { $0 }
        var generator = RandomGenerator(seed: parameters.seed ?? UInt64.random(in: 0...UInt64.max))
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer, skipSpecialTokens: parameters.skipSpecialTokens)
        var output: [Int32] = []
        var text = ""
        var finish = "length"
        // Prefill in chunks of at most maxNumBatchedTokens, then one token per step.
        var position = 0
        var pending = promptIDs
        while output.count < maxNew {
            var next: Int32 = 0
            while !pending.isEmpty {
                let chunk = Array(pending.prefix(options.maxNumBatchedTokens))
                pending.removeFirst(chunk.count)
                var batch = ForwardBatch()
                let blocksNeeded = (position + chunk.count + cache.blockSize - 1) / cache.blockSize
                batch.append(tokens: chunk, startPosition: position, blockTable: Array(table.prefix(blocksNeeded)),
                             wantsLogits: pending.isEmpty)
                let logits = model.forward(batch, cache: cache)
                position += chunk.count
                if pending.isEmpty { next = Sampler.sample(logits, parameters: parameters, generator: &generator) }
            }
            output.append(next)
            let isEnd = tokenizer.endOfGenerationIDs.contains(next) || parameters.stopTokenIDs.contains(next)
            if isEnd && !parameters.ignoreEOS && output.count > parameters.minTokens {
                finish = "stop"
                break
            }
            let piece = detokenizer.append(next)
            text += piece
            onText(piece)
            if output.count >= maxNew { break }
            pending = [next]
        }
        let tail = detokenizer.finish()
        text += tail
        onText(tail)
        return CompletionOutput(text: text, tokenIDs: output, promptTokenIDs: promptIDs, finishReason: finish)
    }
}
