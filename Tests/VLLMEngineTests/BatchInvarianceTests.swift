import Foundation
import Testing
import VLLMEngine

/// The real model through the engine: a request's tokens must not depend on what else runs beside it, on the
/// token budget (chunked prefill), on prefix-cache hits, or on preemption and recomputation.
@Suite(.serialized)
struct BatchInvarianceTests {
    static var modelPath: String {
        (ProcessInfo.processInfo.environment["SWIFT_VLLM_CACHE"] ?? NSHomeDirectory() + "/.cache/swift-vllm")
            + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    /// 64 prompts of mixed lengths (about 5 to 90 tokens), a third sharing a 45-token prefix.
    static func prompts(_ llm: LLM) -> [[Int32]] {
        let shared = String(repeating: "The history of the printing press begins in the fifteenth century. ", count: 3)
        return (0..<64).map { i in
            let body = String(repeating: "word\(i % 7) ", count: 1 + (i * 37) % 20)
            let text = (i % 3 == 0 ? shared : "") + "Request \(i): " + body
            return llm.tokenizer.encode(text)
        }
    }

    static func parameters(seeded: Bool, index: Int) -> SamplingParameters {
        var p = SamplingParameters()
        p.maxTokens = 12
        p.ignoreEOS = true
        if seeded { p.temperature = 0.9; p.topP = 0.95; p.seed = UInt64(1000 + index) } else { p.temperature = 0 }
        return p
    }

    static func run(_ options: EngineOptions, seeded: Bool, only: Int? = nil) throws -> (tokens: [[Int32]], core: EngineCore) {
        let llm = try LLM(model: modelPath, options: options)
        let prompts = Self.prompts(llm)
        let indices = only.map { [$0] } ?? Array(prompts.indices)
        let results = try llm.generate(requests: indices.map { (prompts[$0], parameters(seeded: seeded, index: $0)) })
        return (results.map { $0.outputs[0].tokenIDs }, llm.core)
    }

    @Test(arguments: [false, true])
    func tokensDoNotDependOnTheBatch(_ seeded: Bool) throws {
        var options = EngineOptions()
        options.threads = 2
        options.enablePrefixCaching = false
        var alone: [Int: [Int32]] = [:]
        for i in [0, 5, 17, 33, 63] { alone[i] = try Self.run(options, seeded: seeded, only: i).tokens[0] }

        let together = try Self.run(options, seeded: seeded)
        var cached = options
        cached.enablePrefixCaching = true
        let withCache = try Self.run(cached, seeded: seeded)
        #expect(withCache.core.scheduler.cache.prefixHitTokens > 0, "the shared prefix must hit the cache")
        var tiny = options
        tiny.maxNumBatchedTokens = 16
        let chunked = try Self.run(tiny, seeded: seeded)
        var small = options
        small.kvCacheSpaceGiB = 0.012  // ~34 blocks of 16 tokens for 64 requests of up to ~100 tokens
        small.maxModelLength = 512  // the cache must hold one max-length sequence
        let preempted = try Self.run(small, seeded: seeded)
        #expect(preempted.core.scheduler.preemptionCount > 0, "the small KV budget must force preemptions")

        for (i, tokens) in alone {
            #expect(together.tokens[i] == tokens, "request \(i) among 64")
            #expect(withCache.tokens[i] == tokens, "request \(i) with prefix-cache hits")
            #expect(chunked.tokens[i] == tokens, "request \(i) with a 16-token budget")
            #expect(preempted.tokens[i] == tokens, "request \(i) with preemptions")
        }
        #expect(together.tokens == withCache.tokens && together.tokens == chunked.tokens && together.tokens == preempted.tokens)
        for core in [together.core, withCache.core, chunked.core, preempted.core] {
            #expect(core.scheduler.cache.pool.freeCount == core.kvCacheBlockCount, "every block is free after the run")
            #expect(core.scheduler.invariantViolation() == nil)
        }
    }
}
