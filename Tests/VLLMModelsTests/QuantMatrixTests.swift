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

    @Test(arguments: supported)
    func agreesWithLlamaCpp(_ name: String) throws {
        let fidelity = try LlamaCppFidelity.prepare(name)
        guard name.hasSuffix("Q2_K-pure") else { return try fidelity.check() }
        // Every tensor in 2 bits, embeddings and output too: at 99.4% agreement, one position (prompt 7, 42) where
        // llama.cpp's top three lie within 0.18 and our token is past its top 5, so the fixture cannot bound the gap.
        withKnownIssue("Q2_K-pure: one disagreement outside llama.cpp's top 5 in a flat distribution", isIntermittent: true) {
            try fidelity.check()
        }
    }

    /// SmolLM2-135M: a small model with many near-ties whose logprobs drift from llama.cpp's twice as far as
    /// Qwen's (mean 0.10 vs 0.045 over llama.cpp's top 5), at 97-98% top-1 agreement with a few disagreements
    /// just past 0.25. Not llama.cpp's f16 attention: with an f32 KV cache on both sides (FIXTURE_KV=f32,
    /// VLLM_FIDELITY_KV=f32) the drift is the same. llama.cpp is no closer to itself there: its one-token decode
    /// and its batch disagree on the top token at 15-17 of the 512 positions (96.7%; 1-9 on the Qwen files).
    /// Known issue until the cause of the drift is found.
    @Test(arguments: smolLM2)
    func agreesWithLlamaCppOnSmolLM2(_ name: String) throws {
        let fidelity = try LlamaCppFidelity.prepare(name)
        withKnownIssue("SmolLM2 drifts from llama.cpp (0.1 mean |Δlogprob|): agreement may fall under 98%", isIntermittent: true) {
            try fidelity.check()
        }
    }

    /// The 1.5B runs only with SWIFT_VLLM_TEST_1_5B=1 (its file is 1.1 GB and tools/test.sh does not fetch it).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SWIFT_VLLM_TEST_1_5B"] == "1", "set SWIFT_VLLM_TEST_1_5B=1"))
    func agreesWithLlamaCppOnQwen1_5B() throws {
        try LlamaCppFidelity.prepare("Qwen2.5-Coder-1.5B-Instruct.Q4_K_M").check()
    }

    /// Opening a file reads its tensor infos only (no weights): every file of the matrix opens.
    @Test func everyMatrixFileOpens() throws {
        for name in Self.supported + Self.smolLM2 {
            let fidelity = try LlamaCppFidelity(name)
            guard FileManager.default.fileExists(atPath: fidelity.modelPath) else { continue }
            #expect(throws: Never.self, "\(name)") { _ = try GGUFFile(path: fidelity.modelPath) }
        }
    }
}
