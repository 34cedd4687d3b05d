import Foundation
import Testing
import VLLMModels

/// Tiny random-weight checkpoints of each architecture, written by transformers (tools/gen-hf-tiny-fixtures.py),
/// loaded from safetensors: our logits at every position must match transformers' float32 logits.
struct TransformersReferenceTests {
    struct Expected: Decodable {
        let prompts: [[Int32]]
        let logits: [[[Float]]]
    }

    static let names = ["llama", "llama3-rope", "mistral", "qwen2", "qwen3", "llama-bf16", "qwen2-sharded"]

    @Test(arguments: names)
    func logitsMatchTransformers(_ name: String) throws {
        let directory = ModelHarness.fixtures.appendingPathComponent("hf-tiny/\(name)")
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
        let model = try ModelHarness.load(directory.path, threads: 1)
        for (prompt, reference) in zip(expected.prompts, expected.logits) {
            // An f32 KV cache: the reference keeps K/V in float32.
            let cache = ModelHarness.cache(for: model, blocks: 8, blockSize: 4, type: .f32)
            let got = ModelHarness.allLogits(model, prompt, cache: cache, blockTable: [5, 2, 7, 0])
            var worst: Float = 0
            for (row, refRow) in zip(got, reference) { for (a, b) in zip(row, refRow) { worst = max(worst, abs(a - b)) } }
            // Float32 rounding through two layers and six-significant-digit fixtures: 1e-4 absolute on logits of order 1.
            #expect(worst < 1e-4, "\(name): max |Δlogit| = \(worst)")
        }
    }
}
