import Testing
import VLLMEngine
import VLLMModels

/// The engine loop (scheduler → model runner → output processor) through the `LanguageModel` protocol on a model
/// without weights (`FakeLanguageModel`): every request's tokens must equal its continuation computed from the plain
/// token list, whatever the batching, the prefix cache, the chunking and the preemptions did to its blocks.
struct FakeModelEngineTests {
    static func engine(blocks: Int, blockSize: Int = 4, batchedTokens: Int = 16, maxModelLength: Int = 64,
                       prefixCaching: Bool = true, slidingWindow: Int? = nil, maxNumSeqs: Int = 256) throws -> (EngineCore, FakeLanguageModel) {
        let model = FakeLanguageModel(slidingWindow: slidingWindow)
        var options = EngineOptions()
        options.maxNumSeqs = maxNumSeqs
        options.kvCacheType = .f32
        options.blockSize = blockSize
        options.maxNumBatchedTokens = batchedTokens
        options.maxModelLength = maxModelLength
        options.enablePrefixCaching = prefixCaching
        // One token's K and V: 2 × 4 bytes.
        options.kvCacheSpaceGiB = Double(blocks * blockSize * 8) / 1_073_741_824
        return (try EngineCore(model: model, tokenizer: try FakeLanguageModel.tokenizer(), options: options), model)
    }

    /// Runs the engine until idle; returns each request's generated tokens and finish reason.
    static func run(_ core: EngineCore, abortAtStep: (step: Int, ids: [Int])? = nil) -> [Int: (tokens: [Int32], reason: FinishReason?)] {
        var out: [Int: (tokens: [Int32], reason: FinishReason?)] = [:]
        var steps = 0
        while core.hasWork && steps < 10_000 {
            for o in core.step() {
                out[o.requestID, default: ([], nil)].tokens += o.tokenIDs
                if let r = o.finishReason { out[o.requestID]!.reason = r }
            }
            steps += 1
            if let a = abortAtStep, a.step == steps { for id in a.ids { core.abort(id: id) } }
        }
        return out
    }

    static func greedy(_ maxTokens: Int) -> SamplingParameters {
        var p = SamplingParameters(temperature: 0, maxTokens: maxTokens)
        p.ignoreEOS = true
        return p
    }

    @Test func concurrentRequestsWithSharedPrefixesMatchTheirContinuations() throws {
        let (core, model) = try Self.engine(blocks: 80)
        let shared: [Int32] = (0..<10).map { Int32(3 + $0) }
        var prompts: [Int: [Int32]] = [:]
        for id in 0..<6 {
            prompts[id] = (id % 2 == 0 ? shared : []) + (0..<(2 + id * 3)).map { Int32((id * 11 + $0 * 5) % 60) }
            try core.add(id: id, promptTokenIDs: prompts[id]!, parameters: Self.greedy(8 + id))
        }
        let out = Self.run(core)
        for id in 0..<6 {
            #expect(out[id]?.tokens == FakeLanguageModel.greedy(prompts[id]!, count: 8 + id), "request \(id)")
            #expect(out[id]?.reason == .length)
        }
        // The 16-token budget chunks the prefills: no pass computed more.
        #expect(model.computedTokens.allSatisfy { $0 <= 16 })
        #expect(core.scheduler.cache.pool.usage == 0)
    }

    @Test func preemptionUnderAFewBlocksStillGivesEveryContinuation() throws {
        // 20 blocks of 4 tokens for six requests of up to 40 tokens: requests are preempted and recomputed.
        let (core, model) = try Self.engine(blocks: 20, maxModelLength: 48)
        var prompts: [Int: [Int32]] = [:]
        for id in 0..<6 {
            prompts[id] = (0..<(5 + id)).map { Int32((id * 7 + $0 * 3) % 64) }
            try core.add(id: id, promptTokenIDs: prompts[id]!, parameters: Self.greedy(30))
        }
        let out = Self.run(core)
        for id in 0..<6 { #expect(out[id]?.tokens == FakeLanguageModel.greedy(prompts[id]!, count: 30), "request \(id)") }
        // Preempted requests were recomputed: more tokens ran than each request's prompt and output once.
        let once = prompts.values.reduce(0) { $0 + $1.count + 29 }
        #expect(model.computedTokens.reduce(0, +) > once)
        #expect(core.scheduler.cache.pool.usage == 0)
    }

    @Test func abortedRequestsFreeTheirBlocksAndOthersContinue() throws {
        let (core, _) = try Self.engine(blocks: 40)
        for id in 0..<4 { try core.add(id: id, promptTokenIDs: [Int32(id + 1), 2, 3], parameters: Self.greedy(20)) }
        let out = Self.run(core, abortAtStep: (3, [1, 2]))
        for id in [0, 3] { #expect(out[id]?.tokens == FakeLanguageModel.greedy([Int32(id + 1), 2, 3], count: 20)) }
        for id in [1, 2] { #expect((out[id]?.tokens.count ?? 0) < 20 && out[id]?.reason == nil) }
        #expect(core.scheduler.cache.pool.usage == 0)
    }

    @Test func stopTokenIDsAndStopStringsEndRequests() throws {
        let (core, _) = try Self.engine(blocks: 40)
        let prompt: [Int32] = [1, 2, 3]
        let free = FakeLanguageModel.greedy(prompt, count: 12)
        var byToken = Self.greedy(12)
        byToken.stopTokenIDs = [free[4]]
        var byString = Self.greedy(12)
        byString.stop = ["t\(free[6])"]
        try core.add(id: 0, promptTokenIDs: prompt, parameters: byToken)
        try core.add(id: 1, promptTokenIDs: prompt, parameters: byString)
        let out = Self.run(core)
        let firstStop = free.firstIndex(of: free[4])!
        #expect(out[0]?.tokens == Array(free[...firstStop]) && out[0]?.reason == .stop)
        #expect(out[1]?.reason == .stop && (out[1]?.tokens.count ?? 99) <= 7)
        #expect(core.scheduler.cache.pool.usage == 0)
    }

    /// A processor that bans one token for the requests that ask for a seed of 7, and records what it was told.
    final class BanProcessor: LogitsProcessor {
        let banned: Int32
        var finishedIDs: [Int] = []
        init(banned: Int32) { self.banned = banned }
        func applies(to p: SamplingParameters) -> Bool { p.seed == 7 }
        func apply(_ logits: UnsafeMutableBufferPointer<Float>, _ context: LogitsContext) { logits[Int(banned)] = -.infinity }
        func finished(requestID: Int) { finishedIDs.append(requestID) }
    }

    @Test func aLogitsProcessorInTheChainChangesOnlyItsRequests() throws {
        let (core, _) = try Self.engine(blocks: 40)
        let prompt: [Int32] = [5, 6]
        let free = FakeLanguageModel.greedy(prompt, count: 6)
        let ban = BanProcessor(banned: free[2])
        core.runner.logitsProcessors.processors.append(ban)
        var constrained = Self.greedy(6)
        constrained.seed = 7
        try core.add(id: 0, promptTokenIDs: prompt, parameters: Self.greedy(6))
        try core.add(id: 1, promptTokenIDs: prompt, parameters: constrained)
        let out = Self.run(core)
        #expect(out[0]?.tokens == free)
        #expect(out[1]?.tokens.prefix(2) == free.prefix(2))
        #expect(out[1]?.tokens[2] != free[2])
        #expect(ban.finishedIDs.sorted() == [0, 1])
    }

    @Test(arguments: [true, false])
    func aSlidingWindowGroupReleasesBlocksAndKeepsEveryContinuation(prefixCaching: Bool) throws {
        // Window 6, blocks of 4: the sliding group holds about three blocks a request while the full group grows.
        let (core, model) = try Self.engine(blocks: 200, batchedTokens: 8, maxModelLength: 96, prefixCaching: prefixCaching, slidingWindow: 6)
        #expect(model.kvCacheLayout.groups.count == 2)
        let shared: [Int32] = (0..<13).map { Int32(7 + $0) }
        var prompts: [Int: [Int32]] = [:]
        for id in 0..<4 {
            prompts[id] = (id < 2 ? shared : []) + (0..<(3 + id * 4)).map { Int32((id * 13 + $0 * 7) % 64) }
            try core.add(id: id, promptTokenIDs: prompts[id]!, parameters: Self.greedy(40))
        }
        var out: [Int: [Int32]] = [:]
        var mostSlidingBlocks = 0
        while core.hasWork {
            for o in core.step() { out[o.requestID, default: []] += o.tokenIDs }
            for tables in core.scheduler.cache.groupBlockTables.values {
                mostSlidingBlocks = max(mostSlidingBlocks, tables[1].filter { $0 >= 0 }.count)
            }
        }
        for id in 0..<4 {
            #expect(out[id] == FakeLanguageModel.greedy(prompts[id]!, count: 40, slidingWindow: 6), "request \(id)")
        }
        // (window + one 8-token step) / 4 + 1 blocks at most, against up to 15 in the full group.
        #expect(mostSlidingBlocks <= 5)
        #expect(core.scheduler.cache.pool.usage == 0)
        // A request with a cached prompt reuses both groups' blocks and still continues exactly.
        try core.add(id: 9, promptTokenIDs: prompts[0]!, parameters: Self.greedy(10))
        var again: [Int32] = []
        var cached = 0
        while core.hasWork {
            for o in core.step() { again += o.tokenIDs; cached = o.cachedPromptTokenCount }
        }
        #expect(again == FakeLanguageModel.greedy(prompts[0]!, count: 10, slidingWindow: 6))
        #expect(cached == (prefixCaching ? (prompts[0]!.count - 1) / 4 * 4 : 0))
    }

    @Test func slidingWindowRequestsSurvivePreemption() throws {
        let (core, _) = try Self.engine(blocks: 26, maxModelLength: 48, slidingWindow: 5)
        var prompts: [Int: [Int32]] = [:]
        for id in 0..<5 {
            prompts[id] = (0..<(6 + id)).map { Int32((id * 5 + $0 * 9) % 64) }
            try core.add(id: id, promptTokenIDs: prompts[id]!, parameters: Self.greedy(30))
        }
        let out = Self.run(core)
        for id in 0..<5 { #expect(out[id]?.tokens == FakeLanguageModel.greedy(prompts[id]!, count: 30, slidingWindow: 5), "request \(id)") }
        #expect(core.scheduler.preemptionCount > 0)
        #expect(core.scheduler.cache.pool.usage == 0)
    }
}
