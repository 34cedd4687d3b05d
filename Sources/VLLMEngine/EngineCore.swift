import Foundation
import VLLMGrammar
import VLLMHub
import VLLMKernels
import VLLMModelFormats
import VLLMModels
import VLLMTokenizers

/// The engine loop's state and its synchronous `step()`: schedule → run the model → process the outputs. The
/// `Scheduler` decides which tokens run, the `ModelRunner` computes and samples them, the `OutputProcessor`
/// detokenizes and decides who finishes. Owned by one thread; nothing here is shared.
public final class EngineCore {
    public var model: any LanguageModel { runner.model }
    public let tokenizer: Tokenizer
    public let options: EngineOptions
    public let maxModelLength: Int
    /// Requests' sampling defaults from the model's generation config (`--generation-config`; set by `load`).
    public internal(set) var samplingDefaults = SamplingDefaults()
    public let runner: ModelRunner
    /// Compiles output constraints (nil for a pooling model, which does not sample).
    public let structuredOutputs: StructuredOutputManager?
    private let grammarProcessor = GrammarLogitsProcessor()
    public private(set) var scheduler: Scheduler
    private var outputProcessor: OutputProcessor
    /// Tokens computed by the last step, and cumulative prompt (prefill) and generated tokens, for statistics.
    public private(set) var lastStepTokenCount = 0
    public private(set) var promptTokensComputed = 0
    public private(set) var tokensGenerated = 0
    /// Invariant checks run so far: debug builds check after every step and abort, release builds never do.
    public private(set) var invariantCheckCount = 0

    /// Sizes the KV cache from `options`; fails (as vLLM does) when it cannot hold one sequence of the max model length,
    /// naming the flags to change.
    /// - Parameters:
    ///   - pooler: set for a pooling model (`PoolingSetup`): requests are embeddings, each prompt runs whole in one
    ///     step (no chunked prefill) and, for an encoder, without the prefix cache.
    ///   - lengthCap: a further cap on the model length (sentence-transformers' `max_seq_length`).
    public init(model: any LanguageModel, tokenizer: Tokenizer, options: EngineOptions, pooler: PoolerConfiguration? = nil,
                lengthCap: Int? = nil) throws(EngineError) {
        if model.isEncoder && pooler == nil {
            throw EngineError("'\(model.configuration.architecture)' is an encoder (embedding) model: it has no language-model head to generate with; serve it as a pooling model (--runner pooling, the default for it)")
        }
        self.tokenizer = tokenizer
        self.options = options
        let c = model.configuration
        maxModelLength = min(options.maxModelLength ?? c.maxPositions, c.maxPositions, lengthCap ?? .max)
        model.fitContext(maxModelLength)
        let type = options.kvCacheType ?? (model.weightTypeDescription == "F32" ? .f32 : .f16)
        let perBlock = model.kvBytesPerToken(type: type) * options.blockSize
        let space = try options.kvCacheSpaceGiB(weightBytes: model.packedWeightBytes)
        let blocks = max(1, Int(space * 1_073_741_824) / perBlock)
        let layout = model.kvCacheLayout
        // A cache smaller than one max-length sequence lets a request grow past what the whole cache holds.
        let stepTokens = options.enableChunkedPrefill ? options.maxNumBatchedTokens : maxModelLength
        guard blocks >= layout.blocksForSequence(tokens: maxModelLength, stepTokens: stepTokens, blockSize: options.blockSize) else {
            throw EngineError.kvCacheTooSmall(maxModelLength: maxModelLength, blockSize: options.blockSize, blockBytes: perBlock,
                                              blockCount: blocks, layout: layout, stepTokens: stepTokens)
        }
        let cache = model.makeKVCache(blockCount: blocks, blockSize: options.blockSize, type: type)
        // An encoder's attention reads the step's own keys and never writes the cache (its blocks only admit
        // requests): its lazily mapped pages stay untouched, so nothing faults them in.
        if !model.isEncoder { cache.prefaultInBackground() }
        runner = ModelRunner(model: model, cache: cache, endOfGeneration: tokenizer.endOfGenerationIDs, pooler: pooler)
        if pooler == nil {
            structuredOutputs = StructuredOutputManager(tokenizer: tokenizer, vocabularySize: c.vocabularySize,
                                                        endOfGeneration: tokenizer.endOfGenerationIDs)
            // The grammar's mask comes first, as vLLM applies the bitmask before the sampler's processors.
            runner.logitsProcessors.processors.insert(grammarProcessor, at: 0)
        } else {
            structuredOutputs = nil
        }
        outputProcessor = OutputProcessor(tokenizer: tokenizer)
        let configuration = SchedulerConfiguration(
            maxBatchedTokens: options.maxNumBatchedTokens, maxRunningRequests: options.maxNumSeqs,
            longPrefillTokenThreshold: options.longPrefillTokenThreshold, policy: options.schedulingPolicy,
            maxModelLength: maxModelLength, chunkedPrefill: options.enableChunkedPrefill && pooler == nil)
        // A pooled vector reads hidden states of the whole prompt, so pooling prompts skip the prefix cache.
        let caching = options.enablePrefixCaching && pooler == nil
        scheduler = Scheduler(configuration: configuration,
                              cache: KVCacheManager(blockCount: blocks, blockSize: options.blockSize, cachingEnabled: caching,
                                                    slidingWindows: layout.groups.map(\.slidingWindow)))
        scheduler.recordsKVCacheEvents = options.enableKVCacheEvents && caching
        if options.profile { model.profiler = Profiler() }
    }

    /// The prefix cache's changes since the last call (empty unless `EngineOptions.enableKVCacheEvents`).
    public func takeKVCacheEvents() -> [KVCacheEvent] { scheduler.takeKVCacheEvents() }

    /// Loads `model` (a GGUF file, a Hugging Face directory, or `org/name` in the local HF cache; nil = the default model)
    /// with its tokenizer, and sizes the KV cache from `options`.
    public static func load(model: String?, options: EngineOptions) throws -> sending EngineCore {
        let argument = try model ?? DefaultModel.ensure()
        let location = try HubModel.resolve(argument, revision: options.revision ?? "main", ggufFile: options.ggufFile,
                                            settings: HubSettings(downloadDirectory: options.downloadDirectory))
        var directory: String? = nil
        if case .huggingFaceDirectory(let path) = location { directory = path }
        let defaults = try SamplingDefaults.resolve(options.generationConfig, override: options.overrideGenerationConfig, modelDirectory: directory)
        let core = try load(location, options: options)
        core.samplingDefaults = defaults
        return core
    }

    private static func load(_ location: ModelLocation, options: EngineOptions) throws -> sending EngineCore {
        // Under tensor parallelism this process is rank 0: it starts (or joins) the other ranks and holds its shard.
        let parallel = options.tensorParallelSize > 1 ? try TensorParallelLauncher.loadRankZero(location, options: options) : nil
        let pool = { ThreadPool(threadCount: options.threads ?? ThreadPool.coreCount) }  // one process: every core
        switch location {
        case .gguf(let path):
            if let q = options.quantization {
                throw ModelFormatError("--quantization \(q.rawValue) is for Hugging Face checkpoints; '\(path)' is a GGUF file, whose tensors carry their own types")
            }
            let file = try GGUFFile(path: path)
            let model = try parallel ?? ModelLoader.load(gguf: file, pool: pool(), dtype: options.dtype)
            let pooling = try PoolingSetup(model: model, gguf: file, options: options)
            return try EngineCore(model: model, tokenizer: try Tokenizer(gguf: file), options: options, pooler: pooling.pooler)
        case .huggingFaceDirectory(let path):
            let model = try parallel ?? ModelLoader.load(location, pool: pool(), dtype: options.dtype, quantization: options.quantization)
            let pooling = try PoolingSetup(model: model, directory: path, options: options)
            return try EngineCore(model: model, tokenizer: try Tokenizer(huggingFaceDirectory: path), options: options, pooler: pooling.pooler,
                                  lengthCap: pooling.lengthCap)
        }
    }

    /// Blocks and tokens the KV cache holds.
    public var kvCacheBlockCount: Int { runner.cache.blockCount }
    public var kvCacheTokenCount: Int { runner.cache.blockCount * runner.cache.blockSize }
    public var hasWork: Bool { scheduler.hasWork }

    /// The limits every request is checked against.
    public var limits: RequestLimits {
        RequestLimits(maxModelLength: maxModelLength, vocabularySize: model.configuration.vocabularySize, kvCacheTokens: kvCacheTokenCount)
    }

    /// Checks a request against the model's limits; errors name both numbers.
    public func validate(promptTokenIDs: [Int32], parameters: SamplingParameters) throws {
        try limits.validate(promptTokenIDs: promptTokenIDs, parameters: parameters)
        try limits.validateTokenIDs(parameters)
    }

    /// Queues a request; `id` must be unique among live requests; `queuedAt`: when it was submitted (its queue time
    /// starts there).
    public func add(id: Int, promptTokenIDs: [Int32], parameters: SamplingParameters, priority: Int = 0, arrival: Int? = nil,
                    queuedAt: ContinuousClock.Instant = .now) throws {
        if runner.pooler != nil { throw EngineError.poolingModelCannotGenerate(model.configuration.architecture) }
        var parameters = parameters
        // The server tokenizes bad words off this thread; the `LLM` API leaves them to the engine.
        if !parameters.badWords.isEmpty && parameters.badWordsTokenIDs.isEmpty {
            parameters.badWordsTokenIDs = BadWordsProcessor.tokenSequences(parameters.badWords, tokenizer: tokenizer)
        }
        try validate(promptTokenIDs: promptTokenIDs, parameters: parameters)
        guard !outputProcessor.isLive(id) else { throw EngineError("request id \(id) is already in use") }
        if let constraint = parameters.structuredOutputs, let structuredOutputs {
            grammarProcessor.start(requestID: id, grammar: try structuredOutputs.compile(constraint))
        }
        let request = Request(id: id, promptTokenIDs: promptTokenIDs, parameters: parameters, maxModelLength: maxModelLength,
                              priority: priority, arrival: arrival, cacheKey: parameters.cacheSalt.map(BlockHash.saltKey) ?? 0,
                              queuedAt: queuedAt)
        let seed = parameters.seed ?? options.seed.map { $0 &+ UInt64(id) } ?? UInt64.random(in: 0...UInt64.max)
        runner.addRequest(id: id, seed: seed)
        outputProcessor.add(id: id, parameters: parameters)
        scheduler.add(request)
    }

    /// Hands a validated request to the scheduler.
    func scheduleAdd(_ request: Request) {
        scheduler.add(request)
    }

    /// Ends a request (client gone); its blocks are free before the next step.
    public func abort(id: Int) {
        scheduler.finish(id: id, reason: .abort)
        outputProcessor.remove(id: id)
        runner.removeRequest(id: id)
        checkInvariants(after: "aborting request \(id)")
    }

    /// Runs one step and returns the outputs of requests that produced tokens or finished.
    public func step() -> [RequestOutput] {
        defer { checkInvariants(after: "a step") }
        model.profiler?.start()
        let batch = scheduler.schedule()
        lastStepTokenCount = batch.tokenCount
        let ended = batch.finished.map { request in
            runner.removeRequest(id: request.id)
            return outputProcessor.endedByScheduler(request)
        }
        guard !batch.isEmpty else { return ended }
        model.profiler?.steps += 1
        let run = runner.execute(batch, blockTables: scheduler.cache.groupBlockTables)
        let now = ContinuousClock.now
        for (entry, token) in zip(batch.entries, run.sampled) {
            if token != nil, entry.request.firstTokenAt == nil { entry.request.firstTokenAt = now }
            // A sampling entry's last token is its newest generated token (or the last prompt token).
            let generatedPart = max(0, entry.startPosition + entry.tokenCount - entry.request.promptTokenIDs.count)
            promptTokensComputed += entry.tokenCount - min(entry.tokenCount, generatedPart)
            if token != nil { tokensGenerated += 1 }
        }
        let finished = scheduler.update(batch, sampled: run.sampled) { request, token in outputProcessor.finishReason(request, token) }
        let processed = outputProcessor.process(batch, sampled: run.sampled, logprobs: run.logprobs, finished: Set(finished.map(\.id)),
                                                pooled: run.pooled, now: now)
        for id in processed.stoppedByString { scheduler.finish(id: id, reason: .stop) }
        for id in processed.ended { runner.removeRequest(id: id) }
        model.profiler?.lap("update + detokenize")
        return ended + processed.outputs
    }

    /// In debug builds, stops at the first broken invariant of the scheduler, its block tables or the block pool
    /// (reference counts, free queue, budgets). Compiled out of release builds: the check walks every block.
    @inline(__always) func checkInvariants(after event: @autoclosure () -> String) {
        #if DEBUG
        invariantCheckCount += 1
        if let violation = scheduler.invariantViolation() {
            preconditionFailure("engine invariant broken after \(event()): \(violation)")
        }
        #endif
    }
}
