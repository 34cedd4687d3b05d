import CVLLMKernels
import Foundation
import Testing
import VLLMModelFormats

/// Every common GGUF quant type against llama.cpp on the same file (LlamaCppFidelity states the criteria).
/// The files: tools/make-quant-matrix.sh (Qwen2.5-Coder-0.5B-Instruct requantized by llama-quantize to each type,
/// SmolLM2-135M-Instruct to Q8_0 and Q4_K_M) and tools/fetch-qwen.sh (the two published Q4_K_M files); the fixtures:
/// tools/gen-llamacpp-fixtures.py. A file that is absent cancels its case with the command that makes it.
/// Run alone:  swift test -c release --filter QuantMatrixTests   (VLLM_FIDELITY_PROMPTS=2 for a quick look)
@Suite(.serialized)
struct QuantMatrixTests {
    static let qwen = "Qwen2.5-Coder-0.5B-Instruct"

    /// Every file of the matrix: each llama-quantize preset's types. (The 0.5B is 896 wide: llama-quantize's presets
    /// give its 256-wide K-quant types only to ffn_down, 4864 wide, and 32-wide types to the rest.)
    static let supported = ["Q4_K_M", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q2_K-pure", "Q3_K_M", "Q4_K_S",
                            "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS", "F16"].map { "\(qwen).\($0)" }
    static let smolLM2 = ["SmolLM2-135M-Instruct.Q8_0", "SmolLM2-135M-Instruct.Q4_K_M"]
    static let smolLM2F16 = "SmolLM2-135M-Instruct.F16"

    /// The float-path bound for the F16 file (no activation quantization on either side), none for the others.
    static func floatPathBound(_ name: String) -> Float? {
        name.hasSuffix(".F16") ? LlamaCppFidelity.maxFloatPathDrift : nil
    }

    /// Every file of the matrix. (The Q2_K-pure file, every tensor in 2 bits, once had a disagreement past llama.cpp's
    /// batch top 5 in a flat distribution: llama.cpp's own decode step there puts our token 0.212 below its top.)
    @Test(arguments: supported)
    func agreesWithLlamaCpp(_ name: String) throws {
        try LlamaCppFidelity.prepare(name).check(maxMeanDrift: Self.floatPathBound(name))
    }

    /// The same criteria on the AVX2 kernels (the Zen 3 and Zen 1 hosts' path), the calling thread and the pool's
    /// tasks pinned to AVX2: their matmuls equal the AVX-512 ones bit for bit, attention and the rest need not.
    @Test(.enabled(if: vk_cpu_isa() >= VK_ISA_AVX2, "no AVX2 on this CPU"), arguments: supported)
    func agreesWithLlamaCppOnAVX2(_ name: String) throws {
        try LlamaCppFidelity.prepare(name).check(maxMeanDrift: Self.floatPathBound(name), isa: Int32(VK_ISA_AVX2))
    }

    /// SmolLM2-135M: a small model with many near-ties whose logprobs drift from llama.cpp's batch twice as far as
    /// Qwen's (mean |Δlogprob| over llama.cpp's top 5: Q8_0 0.098, Q4_K_M 0.139, against Qwen's 0.04-0.06). Measured
    /// 2026-12-07 (Zen 5): Q8_0 top-1 499/512, one disagreement at 0.300 and one greedy parting at a top-two gap of
    /// 0.30 in both of llama.cpp's views; Q4_K_M 486/512, two disagreements at 0.322 and 0.334. llama.cpp is about as far from
    /// itself: its one-token decode against its batch agrees at 495 (Q8_0) and 497 (Q4_K_M) of 512 and drifts 0.078
    /// and 0.116 (Qwen's files: 0.04-0.06, as ours). Not llama.cpp's f16 attention: with an f32 KV cache on both sides
    /// (FIXTURE_KV=f32, VLLM_FIDELITY_KV=f32) the drift is the same. Not our float path either: the same weights
    /// widened to F16 (`smolLM2FloatPathAgreesWithLlamaCpp`) agree at 512/512, 0.003. The drift is the int8 rounding
    /// of the activations, which turns last-bit differences in a layer's input into whole quantization steps, 30
    /// layers deep. Known issue: the criteria are tighter than llama.cpp's own noise on this model.
    @Test(arguments: smolLM2)
    func agreesWithLlamaCppOnSmolLM2(_ name: String) throws {
        let fidelity = try LlamaCppFidelity.prepare(name)
        withKnownIssue("SmolLM2 drifts from llama.cpp (0.1 mean |Δlogprob|): agreement may fall under 98%", isIntermittent: true) {
            try fidelity.check()
        }
    }

    /// SmolLM2-135M's weights widened to F16 (llama-quantize, from the default Q4_1 file): llama.cpp multiplies F16
    /// weights by f16-rounded activations and we by f32 ones, no int8 step on either side, so this checks
    /// everything but the activation quantization (attention, RoPE, norms, the tied logits). Measured 2026-12-07
    /// (Zen 5): 512/512 on AVX-512 and 511/512 on AVX2, mean |Δlogprob| 0.003, greedy text equal on 7-8 of 8 prompts.
    @Test func smolLM2FloatPathAgreesWithLlamaCpp() throws {
        try LlamaCppFidelity.prepare(Self.smolLM2F16).check(maxMeanDrift: LlamaCppFidelity.maxFloatPathDrift)
    }

    /// The same on the AVX2 kernels.
    @Test(.enabled(if: vk_cpu_isa() >= VK_ISA_AVX2, "no AVX2 on this CPU"))
    func smolLM2FloatPathAgreesWithLlamaCppOnAVX2() throws {
        try LlamaCppFidelity.prepare(Self.smolLM2F16).check(maxMeanDrift: LlamaCppFidelity.maxFloatPathDrift,
                                                            isa: Int32(VK_ISA_AVX2))
    }

    /// The 1.5B runs only with SWIFT_VLLM_TEST_1_5B=1 (its file is 1.1 GB and tools/test.sh does not fetch it).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SWIFT_VLLM_TEST_1_5B"] == "1", "set SWIFT_VLLM_TEST_1_5B=1"))
    func agreesWithLlamaCppOnQwen1_5B() throws {
        try LlamaCppFidelity.prepare("Qwen2.5-Coder-1.5B-Instruct.Q4_K_M").check()
    }

    /// Opening a file reads its tensor infos only (no weights): every file of the matrix opens.
    @Test func everyMatrixFileOpens() throws {
        for name in Self.supported + Self.smolLM2 + [Self.smolLM2F16] {
            let fidelity = try LlamaCppFidelity(name)
            guard FileManager.default.fileExists(atPath: fidelity.modelPath) else { continue }
            #expect(throws: Never.self, "\(name)") { _ = try GGUFFile(path: fidelity.modelPath) }
        }
    }
}
