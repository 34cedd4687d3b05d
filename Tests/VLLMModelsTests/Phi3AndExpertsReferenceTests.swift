import Foundation
import Testing
import VLLMModels

/// Tiny random-weight Phi-3 and mixture-of-experts checkpoints (and Phi-3, Mixtral and Mistral with 5-position sliding
/// windows) written by transformers (tools/gen-hf-tiny-moe-fixtures.py), loaded from safetensors: logits at every
/// position within float32 rounding of transformers', the same greedy tokens, and experts that batch without
/// changing a token's result.
struct Phi3AndExpertsReferenceTests {
    struct Expected: Decodable {
        let prompts: [[Int32]]
        let logits: [[[Float]]]
        let greedy: [Int32]
    }

    static let names = ["phi3", "phi3-longrope", "qwen3moe", "qwen2moe", "mixtral", "phi3-window", "mixtral-window", "mistral-window"]

    static func load(_ name: String) throws -> (any LanguageModel, Expected) {
        let directory = ModelHarness.fixtures.appendingPathComponent("hf-tiny/\(name)")
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
        return (try ModelHarness.load(directory.path, threads: 2, dtype: .float32), expected)
    }

    /// f32 weights and f32 KV cache against transformers in float32: 1e-4 on logits of order 1, as for the Llama family.
    @Test(arguments: names)
    func logitsMatchTransformers(_ name: String) throws {
        let (model, expected) = try Self.load(name)
        var worst: Float = 0
        for (prompt, reference) in zip(expected.prompts, expected.logits) {
            let cache = ModelHarness.cache(for: model, blocks: 8, blockSize: 4, type: .f32)
            let got = ModelHarness.allLogits(model, prompt, cache: cache, blockTable: [5, 2, 7, 0])
            for (row, refRow) in zip(got, reference) { for (a, b) in zip(row, refRow) { worst = max(worst, abs(a - b)) } }
        }
        #expect(worst < 1e-4, "\(name): max |Δlogit| = \(worst)")
    }

    /// Past the original context (256 here) the engine fits the model to its context, and LongRoPE's long factors
    /// apply to every position: transformers' logits on a 300-token prompt (the last 4 positions) and its greedy
    /// continuation. A model fitted to the original context keeps the short factors (the other tests).
    @Test func longRoPEPastTheOriginalContextMatchesTransformers() throws {
        struct Long: Decodable { let prompt: [Int32]; let lastLogits: [[Float]]; let greedy: [Int32] }
        struct File: Decodable { let long: Long }
        let directory = ModelHarness.fixtures.appendingPathComponent("hf-tiny/phi3-longrope")
        let long = try JSONDecoder().decode(File.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json"))).long
        let model = try ModelHarness.load(directory.path, threads: 2, dtype: .float32)
        #expect(model.configuration.maxPositions == 4096)
        model.fitContext(256)
        let short = model.configuration.ropeInverseFrequencies
        model.fitContext(4096)
        #expect(model.configuration.ropeInverseFrequencies != short)
        let cache = ModelHarness.cache(for: model, blocks: 80, blockSize: 4, type: .f32)
        let got = ModelHarness.allLogits(model, long.prompt, cache: cache, blockTable: (0..<76).map { Int32($0) })
        var worst: Float = 0
        for (row, reference) in zip(got.suffix(4), long.lastLogits) { for (a, b) in zip(row, reference) { worst = max(worst, abs(a - b)) } }
        #expect(worst < 1e-4, "max |Δlogit| = \(worst)")
        #expect(ModelHarness.greedy(model, long.prompt, count: long.greedy.count, kvType: .f32) == long.greedy)
    }

    @Test(arguments: names)
    func greedyTokensMatchTransformers(_ name: String) throws {
        let (model, expected) = try Self.load(name)
        let got = ModelHarness.greedy(model, expected.prompts[0], count: expected.greedy.count, kvType: .f32)
        #expect(got == expected.greedy, "\(name)")
    }

    /// A prompt's logits are bit-for-bit the same alone and beside other sequences that route other tokens to the
    /// same experts (and in a different number of micro-batch rows per expert).
    @Test(arguments: ["qwen3moe", "qwen2moe", "mixtral"])
    func expertsAreBatchInvariant(_ name: String) throws {
        let (model, expected) = try Self.load(name)
        let prompt = expected.prompts[0]
        let alone = ModelHarness.cache(for: model, blocks: 16, blockSize: 4, type: .f32)
        let reference = ModelHarness.allLogits(model, prompt, cache: alone, blockTable: [0, 1, 2])
        let cache = ModelHarness.cache(for: model, blocks: 16, blockSize: 4, type: .f32)
        var batch = ForwardBatch()
        batch.append(tokens: [9, 8, 7, 6, 5, 4, 3], startPosition: 0, blockTable: [3, 4])
        batch.append(tokens: prompt, startPosition: 0, blockTable: [5, 6, 7])
        batch.append(tokens: Array(prompt.reversed()), startPosition: 0, blockTable: [8, 9, 10])
        batch.extraLogitIndices = Array(7..<(7 + prompt.count))
        let out = model.forward(batch, cache: cache)
        let vocab = model.configuration.vocabularySize
        // logitIndices: 6 (first sequence's last), 7 ..< 19 (all of the prompt's), 31 (third's last).
        let rows = batch.logitIndices
        for (i, row) in rows.enumerated() where row >= 7 && row < 7 + prompt.count {
            #expect(Array(out[(i * vocab)..<((i + 1) * vocab)]) == reference[row - 7], "\(name) position \(row - 7)")
        }
    }

    @Test func phi3LongRoPEKeepsTheWholeContextAndItsAttentionFactor() throws {
        let (model, _) = try Self.load("phi3-longrope")
        let c = model.configuration
        #expect(c.maxPositions == 4096 && c.longRoPE?.originalContext == 256)
        #expect(abs(c.ropeAttentionFactor - Float((1 + log(4096.0 / 256) / log(256.0)).squareRoot())) < 1e-6)
    }
}
