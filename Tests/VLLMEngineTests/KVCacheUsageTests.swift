import Foundation
import Testing
import VLLMEngine

/// Prefix caching, sharing for n > 1, and slot waste, measured on the real model through `EngineCore`.
@Suite(.serialized)
struct KVCacheUsageTests {
    static func options(caching: Bool) -> EngineOptions {
        var options = EngineOptions()
        options.threads = 2
        options.enablePrefixCaching = caching
        options.kvCacheSpaceGiB = 0.5
        return options
    }

    static func greedy(_ maxTokens: Int) -> SamplingParameters {
        var p = SamplingParameters()
        p.temperature = 0
        p.maxTokens = maxTokens
        p.ignoreEOS = true
        return p
    }

    @Test func aSharedPrefixIsComputedOnce() throws {
        let llm = try LLM(model: BatchInvarianceTests.modelPath, options: Self.options(caching: true))
        let prefix = llm.tokenizer.encode(String(repeating: "Shared context about the history of paged memory. ", count: 100))
        #expect(prefix.count >= 1000)
        let first = prefix + llm.tokenizer.encode(" Question one: what is paging?")
        let second = prefix + llm.tokenizer.encode(" Question two: why blocks?")
        _ = try llm.generate(promptTokenIDs: [first], Self.greedy(4))
        let before = llm.core.promptTokensComputed
        let cachedRun = try llm.generate(promptTokenIDs: [second], Self.greedy(8))[0]
        let computed = llm.core.promptTokensComputed - before
        let blockSize = llm.core.options.blockSize
        // Every whole block of the shared prefix is reused; only the rest of the prompt is computed.
        #expect(cachedRun.cachedPromptTokenCount == prefix.count / blockSize * blockSize)
        #expect(computed == second.count - cachedRun.cachedPromptTokenCount)

        let uncached = try LLM(model: BatchInvarianceTests.modelPath, options: Self.options(caching: false))
        let plain = try uncached.generate(promptTokenIDs: [second], Self.greedy(8))[0]
        #expect(plain.cachedPromptTokenCount == 0)
        #expect(cachedRun.outputs[0].tokenIDs == plain.outputs[0].tokenIDs)
    }

    /// Peak blocks in use while running `requests` to completion, and the slot waste (allocated but unfilled
    /// slots over allocated slots, summed over steps).
    static func run(_ core: EngineCore, _ requests: [([Int32], SamplingParameters)]) throws -> (peak: Int, waste: Double) {
        for (i, (prompt, parameters)) in requests.enumerated() { try core.add(id: 10_000 + i, promptTokenIDs: prompt, parameters: parameters) }
        var peak = 0, allocatedSlots = 0, filledSlots = 0
        while core.hasWork {
            _ = core.step()
            let used = core.kvCacheBlockCount - core.scheduler.cache.pool.freeCount
            peak = max(peak, used)
            allocatedSlots += used * core.options.blockSize
            filledSlots += core.scheduler.running.reduce(0) { $0 + $1.computedTokenCount }
        }
        return (peak, allocatedSlots == 0 ? 0 : 1 - Double(filledSlots) / Double(allocatedSlots))
    }

    @Test func parallelSamplesShareThePromptBlocks() throws {
        let llm = try LLM(model: BatchInvarianceTests.modelPath, options: Self.options(caching: true))
        let prompt = llm.tokenizer.encode(String(repeating: "A long shared prompt for four samples. ", count: 25))
        var sampled = Self.greedy(32)
        sampled.temperature = 0.8
        sampled.seed = 3
        let shared = try Self.run(llm.core, (0..<4).map { _ in (prompt, sampled) })
        let separate = try Self.run(try LLM(model: BatchInvarianceTests.modelPath, options: Self.options(caching: false)).core,
                                    (0..<4).map { _ in (prompt, sampled) })
        let promptBlocks = (prompt.count + 15) / 16
        #expect(separate.peak >= 4 * promptBlocks)
        #expect(shared.peak <= promptBlocks + 4 * 4, "prompt blocks once, plus each sample's own tail blocks")
        print("n=4 peak blocks: shared \(shared.peak), separate \(separate.peak)")
    }

    @Test func slotWasteStaysUnderFourPercent() throws {
        let llm = try LLM(model: BatchInvarianceTests.modelPath, options: Self.options(caching: false))
        let requests: [([Int32], SamplingParameters)] = (0..<16).map { i in
            let prompt = llm.tokenizer.encode("Document \(i): " + String(repeating: "lorem ipsum dolor sit amet \(i) ", count: 30 + (i * 13) % 50))
            return (prompt, Self.greedy(8 + (i * 7) % 40))
        }
        let result = try Self.run(llm.core, requests)
        print("KV slot waste over the workload: \(String(format: "%.2f", result.waste * 100))%")
        #expect(result.waste < 0.04)
        #expect(llm.core.scheduler.cache.pool.freeCount == llm.core.kvCacheBlockCount)
    }
}
