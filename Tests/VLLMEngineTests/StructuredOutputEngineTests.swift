import Testing
import VLLMEngine
import VLLMGrammar

/// Structured outputs through the engine loop on the weightless model: a constrained request samples only tokens its
/// grammar allows, at every step, through chunked prefill and preemption; free requests beside it produce exactly
/// what they produce alone.
struct StructuredOutputEngineTests {
    /// Tokens of the fake vocabulary are "t0" ... "t63"; this grammar allows only "t1" and "t2", any number of times.
    static let constraint = StructuredOutputs.regex("(t1|t2)+")

    static func constrained(_ maxTokens: Int, temperature: Double) -> SamplingParameters {
        var p = SamplingParameters(temperature: temperature, maxTokens: maxTokens, seed: 5)
        p.ignoreEOS = true
        p.structuredOutputs = constraint
        return p
    }

    @Test(arguments: [0.0, 1.0])
    func constrainedTokensFollowTheGrammarAndFreeOnesAreUnchanged(_ temperature: Double) throws {
        let prompts: [[Int32]] = [[3, 4, 5, 6, 7], [9, 8, 7, 6, 5, 4, 3, 2, 1], [11, 12]]
        let (alone, _) = try FakeModelEngineTests.engine(blocks: 80)
        for (id, prompt) in prompts.enumerated() { try alone.add(id: id, promptTokenIDs: prompt, parameters: FakeModelEngineTests.greedy(10)) }
        let reference = FakeModelEngineTests.run(alone)
        // The same free requests, each beside a constrained one, in a cache small enough to preempt.
        let (core, _) = try FakeModelEngineTests.engine(blocks: 20)
        for (id, prompt) in prompts.enumerated() {
            try core.add(id: id, promptTokenIDs: prompt, parameters: FakeModelEngineTests.greedy(10))
            try core.add(id: 100 + id, promptTokenIDs: prompt + [20, 21], parameters: Self.constrained(12, temperature: temperature))
        }
        let out = FakeModelEngineTests.run(core)
        #expect(core.scheduler.preemptionCount > 0, "the small cache preempted")
        for id in prompts.indices {
            #expect(out[id]?.tokens == reference[id]?.tokens, "free request \(id)")
            let tokens = out[100 + id]?.tokens ?? []
            #expect(tokens.count == 12 && tokens.allSatisfy { $0 == 1 || $0 == 2 }, "constrained request \(id): \(tokens)")
        }
    }

    @Test func aBadConstraintIsRefusedAtAdmission() throws {
        let (core, _) = try FakeModelEngineTests.engine(blocks: 16)
        var p = SamplingParameters(maxTokens: 4)
        p.structuredOutputs = .regex("(unclosed")
        #expect(throws: InvalidParameter.self) { try core.add(id: 1, promptTokenIDs: [1, 2], parameters: p) }
        #expect(!core.hasWork)
    }
}
