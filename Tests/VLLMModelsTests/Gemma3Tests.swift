import CVLLMKernels
import Foundation
import Testing
import VLLMModelFormats
import VLLMModels

/// Gemma 3 270M Q4_K_M (tools/fetch-model.sh gemma3-270m) against llama.cpp on the same file, by LlamaCppFidelity's
/// criteria, from the fixture of tools/gen-llamacpp-fixtures.py gemma-3-270m.Q4_K_M: eight prompts, the last 787
/// tokens long, so that its continuation runs past the 512-key window of the local layers. Without the file the
/// fidelity cases are cancelled with the command that fetches it.
/// Run alone:  swift test -c release --filter Gemma3Tests
@Suite(.serialized)
struct Gemma3Tests {
    static let name = "gemma-3-270m.Q4_K_M"

    /// Measured 2026-12-06: top-1 494/512 (96.5%) on AVX-512 and 501/512 (97.9%) on AVX2, mean |Δlogprob| over
    /// llama.cpp's top 5 0.13; the greedy texts part at llama.cpp near-ties except twice (its top two 0.27 and 0.40
    /// apart). Not f16 attention: with an f32 KV cache on both sides (FIXTURE_KV=f32, VLLM_FIDELITY_KV=f32) the drift
    /// is the same, 0.13. A 270M model with a 262,144-token vocabulary has flat distributions: llama.cpp's own top
    /// two lie within 0.25 at 45 of the 512 positions, and its one-token decode and its batch disagree at 15 (97.1%),
    /// our two instruction sets at 7. Our K-quant matmuls (attn_output Q4_K, ffn_down Q6_K here) quantize activations
    /// in 32-blocks where llama.cpp's Q8_K uses 256-blocks, a difference Gemma's wide activations feel more than
    /// Qwen's. Known issue until the drift is traced (a comparison with transformers in float32 would say which side).
    @Test func agreesWithLlamaCpp() throws {
        let fidelity = try LlamaCppFidelity.prepare(Self.name)
        withKnownIssue("Gemma 3 270M drifts from llama.cpp (0.13 mean |Δlogprob|): agreement under 98%", isIntermittent: true) {
            try fidelity.check()
        }
    }

    /// The same criteria on the AVX2 kernels (and thus their attention, GeGLU and norm paths).
    @Test(.enabled(if: vk_cpu_isa() >= VK_ISA_AVX2, "no AVX2 on this CPU"))
    func agreesWithLlamaCppOnAVX2() throws {
        let fidelity = try LlamaCppFidelity.prepare(Self.name)
        vk_set_isa(Int32(VK_ISA_AVX2))
        defer { vk_set_isa(-1) }
        withKnownIssue("Gemma 3 270M drifts from llama.cpp (0.13 mean |Δlogprob|): agreement under 98%", isIntermittent: true) {
            try fidelity.check()
        }
    }

    /// The file's hyper-parameters as llama.cpp reads them: five local layers of 512 keys, then a global one.
    @Test func layersAndParameters() throws {
        let fidelity = try LlamaCppFidelity.prepare(Self.name)
        let model = try ModelHarness.load(fidelity.modelPath)
        let c = model.configuration
        #expect(c.architecture == "gemma3" && c.layerCount == 18 && c.headDim == 256 && c.headCount == 4 && c.kvHeadCount == 1)
        #expect(c.layerSlidingWindows == (0..<18).map { $0 % 6 == 5 ? 0 : 512 })
        #expect(c.vocabularySize == 262_144 && c.hiddenSize == 640 && c.intermediateSize == 2048)
        #expect(model.weightTypeDescription.contains("Q4_K"))
    }
}
