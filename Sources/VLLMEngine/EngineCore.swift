import Foundation
import VLLMKernels
import VLLMModelFormats
import VLLMModels
import VLLMTokenizers

/// The engine loop's state and its synchronous `step()`: schedule → forward → sample → update → detokenize.
/// Owned by one thread; nothing here is shared.
public final class EngineCore {
    public let model: any LanguageModel
    public let tokenizer: Tokenizer
    public let options: EngineOptions
    public let maxModelLength: Int
    let cache: PagedKVCache
    public private(set) var scheduler: Scheduler
    private var streams: [Int: OutputStream] = [:]
    /// Probabilities of the row being sampled, reused across rows and steps.
    private let samplingScratch = AlignedBuffer<Float>()
    /// Tokens computed by the last step, and cumulative prompt (prefill) and generated tokens, for statistics.
    public private(set) var lastStepTokenCount = 0
    public private(set) var promptTokensComputed = 0
    public private(set) var tokensGenerated = 0
    /// Invariant checks run so far: debug builds check after every step and abort, release builds never do.
    public private(set) var invariantCheckCount = 0

    /// Per-request output state: generator, streaming detokenizer and stop-string matcher.
    struct OutputStream {
        var generator: RandomGenerator
        var detokenizer: IncrementalDetokenizer
        var stopChecker: StopChecker
    }

    /// Sizes the KV cache from `options`; fails (as vLLM does) when it cannot hold one sequence of the max model length,
    /// naming the flags to change.
    public init(model: any LanguageModel, tokenizer: Tokenizer, options: EngineOptions) throws(EngineError) {
        self.model = model
        self.tokenizer = tokenizer
        self.options = options
        let c = model.configuration
        maxModelLength = min(options.maxModelLength ?? c.maxPositions, c.maxPositions)
        let type = options.kvCacheType ?? (model.weightTypeDescription == "F32" ? .f32 : .f16)
        let perBlock = PagedKVCache.bytesPerToken(layerCount: c.layerCount, kvHeadCount: c.kvHeadCount, headDim: c.headDim, type: type) * options.blockSize
        let space = options.kvCacheSpaceGiB ?? EngineOptions.defaultKVCacheSpaceGiB()
        let blocks = max(1, Int(space * 1_073_741_824) / perBlock)
        // A cache smaller than one max-length sequence lets a request grow past what the whole cache holds.
        guard blocks * options.blockSize >= maxModelLength else {
            throw EngineError.kvCacheTooSmall(maxModelLength: maxModelLength, blockSize: options.blockSize, blockBytes: perBlock,
                                              blockCount: blocks)
        }
        cache = PagedKVCache(blockCount: blocks, blockSize: options.blockSize, layerCount: c.layerCount,
                             kvHeadCount: c.kvHeadCount, headDim: c.headDim, type: type)
        cache.prefaultInBackground()
        let configuration = SchedulerConfiguration(
            maxBatchedTokens: options.maxNumBatchedTokens, maxRunningRequests: options.maxNumSeqs,
            longPrefillTokenThreshold: options.longPrefillTokenThreshold, policy: options.schedulingPolicy,
            maxModelLength: maxModelLength, chunkedPrefill: options.enableChunkedPrefill)
        scheduler = Scheduler(configuration: configuration,
                              cache: KVCacheManager(blockCount: blocks, blockSize: options.blockSize, cachingEnabled: options.enablePrefixCaching))
        if options.profile { model.profiler = Profiler() }
    }

    /// Loads `model` (a GGUF file, a Hugging Face directory, or `org/name` in the local HF cache; nil = the default model)
    /// with its tokenizer, and sizes the KV cache from `options`.
    public static func load(model: String?, options: EngineOptions) throws -> sending EngineCore {
        let argument = try model ?? DefaultModel.ensure()
        let location = try ModelLocation.resolve(argument)
        let pool = ThreadPool(threadCount: options.threads ?? ThreadPool.coreCount)
        switch location {
        case .gguf(let path):
            let file = try GGUFFile(path: path)
            return try EngineCore(model: try ModelLoader.load(gguf: file, pool: pool, dtype: options.dtype), tokenizer: try Tokenizer(gguf: file), options: options)
        case .huggingFaceDirectory(let path):
            return try EngineCore(model: try ModelLoader.load(location, pool: pool, dtype: options.dtype), tokenizer: try Tokenizer(huggingFaceDirectory: path), options: options)
        }
    }

    /// Blocks and tokens the KV cache holds.
    public var kvCacheBlockCount: Int { cache.blockCount }
    public var kvCacheTokenCount: Int { cache.blockCount * cache.blockSize }
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

    /// Queues a request; `id` must be unique among live requests.
    public func add(id: Int, promptTokenIDs: [Int32], parameters: SamplingParameters, priority: Int = 0, arrival: Int? = nil) throws {
        try validate(promptTokenIDs: promptTokenIDs, parameters: parameters)
        guard streams[id] == nil else { throw EngineError("request id \(id) is already in use") }
        let request = Request(id: id, promptTokenIDs: promptTokenIDs, parameters: parameters, maxModelLength: maxModelLength,
                              priority: priority, arrival: arrival, cacheKey: parameters.cacheSalt.map(BlockHash.saltKey) ?? 0)
        let seed = parameters.seed ?? options.seed.map { $0 &+ UInt64(id) } ?? UInt64.random(in: 0...UInt64.max)
        streams[id] = OutputStream(generator: RandomGenerator(seed: seed),
                                   detokenizer: IncrementalDetokenizer(tokenizer: tokenizer, skipSpecialTokens: parameters.skipSpecialTokens),
                                   stopChecker: StopChecker(stops: parameters.stop, includeStop: parameters.includeStopStringInOutput))
        scheduler.add(request)
    }

    /// Ends a request (client gone); its blocks are free before the next step.
    public func abort(id: Int) {
        scheduler.finish(id: id, reason: .abort)
        streams[id] = nil
        checkInvariants(after: "aborting request \(id)")
    }

    /// Runs one step and returns the outputs of requests that produced tokens or finished.
    public func step() -> [RequestOutput] {
        defer { checkInvariants(after: "a step") }
        let profiler = model.profiler
        profiler?.start()
        let batch = scheduler.schedule()
        lastStepTokenCount = batch.tokenCount
        let ended = batch.finished.map(endedByScheduler)
        guard !batch.isEmpty else { return ended }
        profiler?.steps += 1
        var forward = ForwardBatch()
        for entry in batch.entries {
            let r = entry.request
            forward.append(tokens: Array(r.tokenIDs[entry.startPosition..<(entry.startPosition + entry.tokenCount)]),
                           startPosition: entry.startPosition, blockTable: scheduler.cache.blockTables[r.id] ?? [],
                           wantsLogits: entry.samples)
        }
        profiler?.lap("schedule")
        let logits = model.forward(forward, cache: cache)
        let vocabulary = logits.count / max(1, forward.logitIndices.count)
        var sampled: [Int32?] = []
        var logprobs: [Int: TokenLogprobs] = [:]
        var row = 0
        for entry in batch.entries {
            guard entry.samples else { sampled.append(nil); continue }
            let r = entry.request
            let rowLogits = UnsafeMutableBufferPointer(mutating: UnsafeBufferPointer(rebasing: logits[(row * vocabulary)..<((row + 1) * vocabulary)]))
            row += 1
            var raw: [Float] = []
            if r.parameters.logprobs != nil { raw = Array(rowLogits) }
            LogitsProcessor.apply(rowLogits, parameters: r.parameters, promptTokens: r.promptTokenIDs[...],
                                  outputTokens: r.outputTokenIDs, stopTokenIDs: stopIDs(r))
            let token = Sampler.sample(UnsafeBufferPointer(rowLogits), parameters: r.parameters, generator: &streams[r.id]!.generator,
                                       scratch: samplingScratch)
            if let k = r.parameters.logprobs {
                logprobs[r.id] = raw.withUnsafeBufferPointer { TokenLogprobs(logits: $0, chosen: token, topCount: k) }
            }
            sampled.append(token)
        }
        profiler?.lap("sampling")
        for (entry, token) in zip(batch.entries, sampled) {
            // A sampling entry's last token is its newest generated token (or the last prompt token).
            let generatedPart = max(0, entry.startPosition + entry.tokenCount - entry.request.promptTokenIDs.count)
            promptTokensComputed += entry.tokenCount - min(entry.tokenCount, generatedPart)
            if token != nil { tokensGenerated += 1 }
        }
        let finished = scheduler.update(batch, sampled: sampled) { request, token in self.finishReason(request, token) }
        let finishedIDs = Set(finished.map(\.id))
        var outputs: [RequestOutput] = []
        for (entry, token) in zip(batch.entries, sampled) {
            guard let token, var stream = streams[entry.request.id] else { continue }
            let r = entry.request
            var reason: FinishReason? = nil
            if finishedIDs.contains(r.id), case .finished(let why) = r.status { reason = why }
            var text = ""
            // End-of-generation and stop ids end the output without adding text.
            if !(reason == .stop && isStopToken(r, token)) {
                let (emit, stopped) = stream.stopChecker.append(stream.detokenizer.append(token))
                text = emit
                if stopped {
                    if reason == nil { scheduler.finish(id: r.id, reason: .stop) }
                    reason = .stop
                    stream.stopChecker = StopChecker(stops: [], includeStop: false)
                }
            }
            if reason != nil {
                // Flush bytes of an unfinished character and held-back text.
                let (emit, _) = stream.stopChecker.append(stream.detokenizer.finish())
                text += emit + stream.stopChecker.finish()
            }
            outputs.append(RequestOutput(requestID: r.id, text: text, tokenIDs: [token], logprobs: logprobs[r.id].map { [$0] } ?? [],
                                         finishReason: reason, promptTokenCount: r.promptTokenIDs.count,
                                         cachedPromptTokenCount: r.cachedPromptTokenCount))
            streams[r.id] = reason == nil ? stream : nil
        }
        profiler?.lap("update + detokenize")
        return ended + outputs
    }

    /// The last output of a request the scheduler ended because the KV cache cannot hold it: no new token, the
    /// text held back so far, finish reason `.length`.
    private func endedByScheduler(_ request: Request) -> RequestOutput {
        var text = ""
        if var stream = streams.removeValue(forKey: request.id) {
            let (emit, _) = stream.stopChecker.append(stream.detokenizer.finish())
            text = emit + stream.stopChecker.finish()
        }
        return RequestOutput(requestID: request.id, text: text, tokenIDs: [], finishReason: .length,
                             promptTokenCount: request.promptTokenIDs.count, cachedPromptTokenCount: request.cachedPromptTokenCount)
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

    /// Ids that end generation for this request: the model's end-of-generation ids (unless ignore_eos)
    /// and the request's stop_token_ids.
    func stopIDs(_ request: Request) -> Set<Int32> {
        var ids = Set(request.parameters.stopTokenIDs)
        if !request.parameters.ignoreEOS { ids.formUnion(tokenizer.endOfGenerationIDs) }
        return ids
    }

    func isStopToken(_ request: Request, _ token: Int32) -> Bool {
        request.parameters.stopTokenIDs.contains(token) || (!request.parameters.ignoreEOS && tokenizer.endOfGenerationIDs.contains(token))
    }

    func finishReason(_ request: Request, _ token: Int32) -> FinishReason? {
        if isStopToken(request, token) { return .stop }
        if request.tokenCount >= request.maxTotalTokens { return .length }
        return nil
    }
}
