import Foundation
import Testing
import CVLLMKernels
import VLLMModels

/// Tiny random-weight checkpoints of each architecture, written by transformers (tools/gen-hf-tiny-fixtures.py),
/// loaded from safetensors: our logits at every position must match transformers' float32 logits.
struct TransformersReferenceTests {
    struct Expected: Decodable {
        let prompts: [[Int32]]
        let logits: [[[Float]]]
    }

    static let names = ["llama", "llama3-rope", "mistral", "qwen2", "qwen3", "llama-bf16", "qwen2-sharded"]

    /// With f32 dot products (`--dtype float32`; the only kind for f32 weights) against transformers in float32.
    @Test(arguments: names)
    func logitsMatchTransformers(_ name: String) throws {
        // Float32 rounding through two layers and six-significant-digit fixtures: 1e-4 absolute on logits of order 1.
        let worst = try worstLogitError(name, dtype: .float32)
        #expect(worst < 1e-4, "\(name): max |Δlogit| = \(worst)")
    }

    /// BF16 weights with bf16 dot products (the default, where the CPU has AVX-512 BF16): every matmul input is
    /// rounded to 8 significant bits (2^-9 relative), and two layers of that move this model's logits (up to 3.5 in
    /// size) by 0.017 at most; 1% of the largest logit leaves room for the rounding to compound, not for a wrong
    /// operand order or a dropped term, which move logits by their own size.
    @Test func bfloat16ProductsStayCloseToTransformers() throws {
        let worst = try worstLogitError("llama-bf16", dtype: .auto)
        #expect(worst < 0.035, "max |Δlogit| = \(worst)")
        if vk_packed_supported(Int32(VK_BF16)) == 1 {
            // The bf16 kernel really ran: f32 products stay within 1e-5 here.
            #expect(worst > 1e-4, "max |Δlogit| = \(worst): bf16 products not used")
        }
    }

    private func worstLogitError(_ name: String, dtype: ComputeDType) throws -> Float {
        let directory = ModelHarness.fixtures.appendingPathComponent("hf-tiny/\(name)")
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
        let model = try ModelHarness.load(directory.path, threads: 1, dtype: dtype)
        var worst: Float = 0
        for (prompt, reference) in zip(expected.prompts, expected.logits) {
            // An f32 KV cache: the reference keeps K/V in float32.
            let cache = ModelHarness.cache(for: model, blocks: 8, blockSize: 4, type: .f32)
            let got = ModelHarness.allLogits(model, prompt, cache: cache, blockTable: [5, 2, 7, 0])
            for (row, refRow) in zip(got, reference) { for (a, b) in zip(row, refRow) { worst = max(worst, abs(a - b)) } }
        }
        return worst
    }
}
