import Foundation
import Testing
import VLLMModels

/// The tiny Phi-3 and mixture-of-experts checkpoints converted by llama.cpp's convert_hf_to_gguf.py (F32; Q8_0 by
/// llama-quantize, and Q4_0) and run by llama.cpp (tools/gen-gguf-tiny-fixtures.py): fused QKV and gate-up tensors, stacked
/// 3-D expert tensors and the GGUF keys of `phi3`, `qwen2moe`, `qwen3moe` and Mixtral's `llama` give llama.cpp's
/// logits and greedy tokens.
struct GGUFTinyReferenceTests {
    struct Expected: Decodable {
        let prompts: [[Int32]]
        let logits: [[[Float]]]
        let greedy: [Int32]
    }

    static let files = ["phi3.F32", "phi3-longrope.F32", "qwen3moe.F32", "qwen2moe.F32", "mixtral.F32", "phi3.Q8_0", "qwen3moe.Q8_0", "qwen2moe.Q4_0", "mixtral.Q4_0"]

    /// F32: both engines compute in float32 (llama.cpp in another summation order). Q8_0: both quantize each
    /// activation row to Q8_0 the same way and take exact int8 dot products, so only the float sums of the block
    /// products differ. Measured: at most 6e-6 on every file (the fixtures' six significant digits); 1e-4 and 1e-3
    /// leave room for other summation orders (AVX2, portable C), not for a wrong layout or routing (0.1 to 1).
    @Test(arguments: files)
    func logitsMatchLlamaCpp(_ file: String) throws {
        let base = ModelHarness.fixtures.appendingPathComponent("gguf-tiny/\(file)")
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: base.appendingPathExtension("json")))
        let model = try ModelHarness.load(base.appendingPathExtension("gguf").path, threads: 2, dtype: .float32)
        var worst: Float = 0
        for (prompt, reference) in zip(expected.prompts, expected.logits) {
            let cache = ModelHarness.cache(for: model, blocks: 8, blockSize: 4, type: .f32)
            let got = ModelHarness.allLogits(model, prompt, cache: cache, blockTable: [5, 2, 7, 0])
            for (row, refRow) in zip(got, reference) { for (a, b) in zip(row, refRow) { worst = max(worst, abs(a - b)) } }
        }
        let tolerance: Float = file.hasSuffix("F32") ? 1e-4 : 1e-3
        #expect(worst < tolerance, "\(file): max |Δlogit| = \(worst)")
        let greedy = ModelHarness.greedy(model, expected.prompts[0], count: expected.greedy.count, kvType: .f32)
        #expect(greedy == expected.greedy, "\(file)")
    }
}
