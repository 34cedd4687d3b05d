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

    /// Files whose every tensor type the engine computes with. (The 0.5B is 896 wide: llama-quantize's presets
    /// give its 256-wide K-quant types only to ffn_down, 4864 wide, and 32-wide types to the rest.)
    static let supported = ["Q4_K_M", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q3_K_M", "Q4_K_S", "Q5_K_M", "Q6_K"].map { "\(qwen).\($0)" }
    static let smolLM2 = ["SmolLM2-135M-Instruct.Q8_0", "SmolLM2-135M-Instruct.Q4_K_M"]

    /// Files holding a type the engine does not load yet (TensorType has no case for it), with those types.
    static let unsupported = [("Q2_K", "Q3_K"), ("Q2_K-pure", "Q2_K"), ("IQ4_NL", "IQ4_NL"), ("IQ4_XS", "IQ4_XS, IQ4_NL")]
        .map { ("\(qwen).\($0.0)", $0.1) }

    @Test(arguments: supported)
    func agreesWithLlamaCpp(_ name: String) throws {
        try LlamaCppFidelity.prepare(name).check()
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

    /// Enable (move each name to `supported`) when the kernels learn the types named: `unsupportedListIsCurrent`
    /// fails as soon as a file here loads.
    @Test(.disabled("unsupported weight types Q2_K, Q3_K, IQ4_NL, IQ4_XS: not in TensorType yet"),
          arguments: unsupported.map(\.0))
    func agreesWithLlamaCppOnUnsupportedTypes(_ name: String) throws {
        try LlamaCppFidelity.prepare(name).check()
    }

    /// The 1.5B runs only with SWIFT_VLLM_TEST_1_5B=1 (its file is 1.1 GB and tools/test.sh does not fetch it).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SWIFT_VLLM_TEST_1_5B"] == "1", "set SWIFT_VLLM_TEST_1_5B=1"))
    func agreesWithLlamaCppOnQwen1_5B() throws {
        try LlamaCppFidelity.prepare("Qwen2.5-Coder-1.5B-Instruct.Q4_K_M").check()
    }

    /// Opening a file reads its tensor infos only (no weights): each listed file must load or refuse as listed,
    /// naming the missing type, so the lists above cannot go stale silently.
    @Test func unsupportedListIsCurrent() throws {
        for name in Self.supported + Self.smolLM2 {
            let fidelity = try LlamaCppFidelity(name)
            guard FileManager.default.fileExists(atPath: fidelity.modelPath) else { continue }
            #expect(throws: Never.self, "\(name)") { _ = try GGUFFile(path: fidelity.modelPath) }
        }
        for (name, types) in Self.unsupported {
            let fidelity = try LlamaCppFidelity(name)
            guard FileManager.default.fileExists(atPath: fidelity.modelPath) else { continue }
            let error = #expect(throws: (any Error).self, "\(name) loads now: move it to `supported`") {
                _ = try GGUFFile(path: fidelity.modelPath)
            }
            let named = error.map { e in types.split(separator: ", ").contains { "\(e)".contains("type \($0),") } }
            #expect(named != false, "\(name): \(String(describing: error)) names none of \(types)")
        }
    }
}
