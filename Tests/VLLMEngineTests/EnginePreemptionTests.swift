import Foundation
import Testing
import VLLMEngine

/// The tiny random Llama through `EngineCore` under a KV cache of a few blocks (26 blocks of 4 tokens, exactly one
/// 104-token sequence at most): greedy requests give the tokens they give with a cache large enough for all of them
/// at once, under both policies, with and without prefix caching and chunked prefill, and every block is free at
/// the end.
struct EnginePreemptionTests {
    static func run(_ options: EngineOptions, directory: String) throws -> (outputs: [Int: [Int32]], core: EngineCore) {
        let core = try EngineCore.load(model: directory, options: options)
        let shared: [Int32] = (0..<16).map { Int32(60 + $0) }
        for id in 0..<12 {
            var p = SamplingParameters(temperature: 0, maxTokens: 30 + (id * 7) % 40)
            p.ignoreEOS = true
            let own = (0..<(2 + (id * 5) % 20)).map { Int32((id * 41 + $0 * 13) % 300 + 10) }
            try core.add(id: id, promptTokenIDs: (id % 3 == 0 ? shared : []) + own, parameters: p, priority: (id * 7) % 3)
        }
        var outputs: [Int: [Int32]] = [:]
        var steps = 0
        while core.hasWork, steps < 5_000 {
            for output in core.step() { outputs[output.requestID, default: []] += output.tokenIDs }
            steps += 1
        }
        #expect(steps < 5_000, "the engine wedged")
        return (outputs, core)
    }

    /// One thread, blocks of 4 tokens, 104-token sequences: the tiny model's setting for a cache of a few blocks.
    static func tinyOptions() -> EngineOptions {
        var options = EngineOptions()
        options.threads = 1
        options.blockSize = 4
        options.maxModelLength = 104
        return options
    }

    @Test(arguments: [(SchedulerConfiguration.Policy.fcfs, true, true), (.fcfs, false, false), (.priority, true, true), (.priority, false, true)])
    func greedyOutputsDoNotDependOnPreemption(_ policy: SchedulerConfiguration.Policy, _ caching: Bool, _ chunked: Bool) throws {
        let directory = try EngineInvariantTests.tinyModelDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = Self.tinyOptions()
        options.schedulingPolicy = policy
        options.enablePrefixCaching = caching
        options.enableChunkedPrefill = chunked
        options.maxNumBatchedTokens = chunked ? 16 : 104
        options.kvCacheSpaceGiB = 0.001  // 512 blocks, room for all twelve at once (debug builds check every block each step)
        let roomy = try Self.run(options, directory: directory)
        options.kvCacheSpaceGiB = 5e-5  // 26 blocks of 4 tokens: one max-length sequence
        let tight = try Self.run(options, directory: directory)
        #expect(roomy.core.scheduler.preemptionCount == 0 && tight.core.scheduler.preemptionCount > 0)
        #expect(tight.outputs.count == 12 && tight.outputs == roomy.outputs, "the same tokens with and without preemption")
        for core in [roomy.core, tight.core] {
            #expect(core.scheduler.cache.pool.freeCount == core.kvCacheBlockCount && core.scheduler.cache.blockTables.isEmpty)
        }
    }
}
