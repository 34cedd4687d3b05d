import Foundation
import Testing
import VLLMEngine

/// `prompt_logprobs` through the engine: the logprobs of every prompt token after the first, from the logits at the
/// position before it, computed in chunks of at most `SchedulerConfiguration.maxPromptLogprobTokens` tokens, without
/// prefix-cache hits (as vLLM), and handed out once, with the request's first output.
@Suite(.serialized)
struct PromptLogprobsEngineTests {
    static func llm(chunkTokens: Int = 2048, chunked: Bool = true) throws -> LLM {
        var options = EngineOptions()
        options.threads = 2
        options.kvCacheSpaceGiB = 0.25
        options.maxNumBatchedTokens = chunkTokens
        options.enableChunkedPrefill = chunked
        return try LLM(model: BatchInvarianceTests.modelPath, options: options)
    }

    static func scoring(_ k: Int) -> SamplingParameters {
        var p = SamplingParameters(temperature: 0, maxTokens: 1)
        p.promptLogprobs = k
        return p
    }

    /// The engine is batch-invariant, so the logprobs of a continuation scored as a prompt (in chunks of 16 tokens)
    /// are, to the bit, those its decode steps reported while generating it.
    @Test func aScoredContinuationHasItsDecodeStepsLogprobs() throws {
        let llm = try Self.llm(chunkTokens: 16)
        let prompt = llm.tokenizer.encode("The history of the printing press begins")
        var generate = SamplingParameters(temperature: 0, maxTokens: 24)
        generate.ignoreEOS = true
        generate.logprobs = 3
        let generated = try llm.generate(promptTokenIDs: [prompt], generate)[0].outputs[0]
        let scored = try llm.generate(promptTokenIDs: [prompt + generated.tokenIDs], Self.scoring(3))[0]
        let entries = try #require(scored.promptLogprobs)
        #expect(entries.count == prompt.count + generated.tokenIDs.count - 1)
        #expect(Array(entries.suffix(generated.tokenIDs.count)) == generated.logprobs)
        #expect(zip(entries, (prompt + generated.tokenIDs).dropFirst()).allSatisfy { $0.tokenID == $1 })
    }

    /// Against llama.cpp's teacher-forced logits on the same file (Tests/VLLMModelsTests/Fixtures/smollm2-llamacpp.json,
    /// tools/gen-llamacpp-logits.py): each prompt token's logprob relative to the position's most likely token is
    /// llama.cpp's logit difference, within LlamaCppReferenceTests' tolerances (mean 0.3, worst 1.5: its attention
    /// rounds to f16 where ours keeps f32), and the top token is llama.cpp's wherever its top two are 0.5 apart.
    @Test func promptLogprobsAgreeWithLlamaCpp() throws {
        struct Fixture: Decodable {
            struct Position: Decodable { let ids: [Int32]; let logits: [Float] }
            struct Case: Decodable { let prompt_ids: [Int32]; let greedy_ids: [Int32]; let positions: [Position] }
            let cases: [Case]
        }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("VLLMModelsTests/Fixtures/smollm2-llamacpp.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let llm = try Self.llm()
        let sequences = fixture.cases.map { $0.prompt_ids + $0.greedy_ids }
        let results = try llm.generate(promptTokenIDs: sequences, Self.scoring(5))
        var total: Float = 0, count: Float = 0, worst: Float = 0, decisive = 0
        for (c, (sequence, result)) in zip(fixture.cases, zip(sequences, results)) {
            let entries = try #require(result.promptLogprobs)
            #expect(entries.count == sequence.count - 1)
            for (i, entry) in entries.enumerated() where i < c.positions.count {
                let reference = c.positions[i]
                if reference.logits[0] - reference.logits[1] > 0.5 {
                    decisive += 1
                    #expect(entry.top.first?.id == reference.ids[0], "position \(i)")
                }
                guard let at = reference.ids.firstIndex(of: sequence[i + 1]), let top = entry.top.first else { continue }
                let delta = abs((entry.logprob - top.logprob) - (reference.logits[at] - reference.logits[0]))
                total += delta
                count += 1
                worst = max(worst, delta)
            }
        }
        #expect(decisive >= 20 && count >= 40, "\(decisive) decisive positions, \(count) compared")
        #expect(total / count < 0.3, "mean |Δ| \(total / count)")
        #expect(worst < 1.5)
    }

    /// A 700-token prompt runs in 256-token chunks, also without chunked prefill; a second run of it reads nothing from
    /// the prefix cache; only the first output carries the list.
    @Test func longPromptsChunkAndSkipThePrefixCache() throws {
        let text = (0..<120).map { "Item \($0) is on the list." }.joined(separator: " ")
        var reference: [TokenLogprobs]?
        for chunked in [true, false] {
            let llm = try Self.llm(chunked: chunked)
            let prompt = llm.tokenizer.encode(text)
            #expect(prompt.count > 2 * 256 + 16)
            for _ in 0..<2 {
                var carriers = 0
                let result = try llm.generate(promptTokenIDs: [prompt], Self.scoring(0)) { _, output in
                    if output.promptLogprobs != nil { carriers += 1 }
                }[0]
                #expect(carriers == 1)
                #expect(result.cachedPromptTokenCount == 0)
                let entries = try #require(result.promptLogprobs)
                #expect(entries.count == prompt.count - 1 && entries.allSatisfy { $0.top.isEmpty })
                if let reference { #expect(entries == reference) } else { reference = entries }
            }
        }
    }

    /// Under a KV cache that preempts (the tiny random Llama, 26 blocks of 4 tokens), each request's prompt logprobs
    /// are those of a roomy cache: recomputed positions are not scored twice.
    @Test func preemptionDoesNotScoreTwice() throws {
        let directory = try EngineInvariantTests.tinyModelDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = EnginePreemptionTests.tinyOptions()
        options.maxNumBatchedTokens = 16
        func run(_ space: Double) throws -> (lists: [Int: [TokenLogprobs]], preemptions: Int) {
            options.kvCacheSpaceGiB = space
            let core = try EngineCore.load(model: directory, options: options)
            for id in 0..<8 {
                var p = SamplingParameters(temperature: 0, maxTokens: 30 + (id * 7) % 40)
                p.ignoreEOS = true
                p.promptLogprobs = 2
                try core.add(id: id, promptTokenIDs: (0..<(12 + (id * 5) % 20)).map { Int32((id * 41 + $0 * 13) % 300 + 10) }, parameters: p)
            }
            var lists: [Int: [TokenLogprobs]] = [:]
            var steps = 0
            while core.hasWork, steps < 5_000 {
                for output in core.step() {
                    if let list = output.promptLogprobs {
                        #expect(lists[output.requestID] == nil)
                        lists[output.requestID] = list
                    }
                }
                steps += 1
            }
            return (lists, core.scheduler.preemptionCount)
        }
        let roomy = try run(0.001), tight = try run(5e-5)
        #expect(roomy.preemptions == 0 && tight.preemptions > 0)
        #expect(tight.lists.count == 8 && tight.lists == roomy.lists)
        for id in 0..<8 { #expect(roomy.lists[id]?.count == 12 + (id * 5) % 20 - 1) }
    }

    /// -1 (the whole vocabulary) needs the server's `--max-logprobs -1`; the `LLM` API keeps vLLM's default of 20.
    @Test func theWholeVocabularyIsRefusedByDefault() throws {
        var p = Self.scoring(-1)
        #expect(throws: InvalidParameter.self) { try p.validate() }
        #expect(throws: Never.self) { try p.validate(maxLogprobs: -1) }
        p.promptLogprobs = 20
        #expect(throws: Never.self) { try p.validate() }
    }
}
