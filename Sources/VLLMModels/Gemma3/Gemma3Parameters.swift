import Foundation
import VLLMModelFormats

/// What Gemma 3 has beyond the common configuration, as llama.cpp's `src/models/gemma3.cpp` and
/// `llama-hparams.cpp` read it from GGUF (and transformers' `Gemma3TextConfig` from `config.json`):
///
/// - layers are sliding-window (local) or global: with `{arch}.attention.sliding_window` > 0, the layer pattern
///   is `{arch}.attention.sliding_window_pattern` (a bool per layer, or a period n: layer i is local unless
///   `i % n == n - 1`), by default the period 6 (five local layers, then a global one); without a window every
///   layer is global;
/// - local layers rotate with base `{arch}.rope.freq_base_swa` (default 10000) and no scaling; global ones with
///   `{arch}.rope.freq_base` and the file's linear scaling;
/// - queries are scaled by `1 / sqrt(head_dim)` (by `1 / sqrt(hidden / heads)` for the 62-layer 27B, llama.cpp's
///   rule for `query_pre_attn_scalar`; Hugging Face configs give `query_pre_attn_scalar` itself);
/// - embeddings are scaled by `sqrt(hidden)`; logits are soft-capped when the file gives
///   `{arch}.final_logit_softcapping`.
struct Gemma3Parameters: Sendable, Equatable {
    /// Keys of each layer's sliding window; 0 for a global layer. `[layers]`.
    var layerWindows: [Int]
    /// Rotary inverse frequencies of the local layers, `headDim / 2` values.
    var localInverseFrequencies: [Float]
    /// Rotary inverse frequencies of the global layers (scaling applied), `headDim / 2` values.
    var globalInverseFrequencies: [Float]
    /// The factor on q·k.
    var attentionScale: Float
    /// The factor on the token embeddings (sqrtf(hidden) in f32, as ggml_scale gets it).
    var embeddingScale: Float
    /// `cap * tanh(logits / cap)` when set.
    var finalLogitSoftcap: Float?

    init(layerWindows: [Int], localInverseFrequencies: [Float], globalInverseFrequencies: [Float], attentionScale: Float,
         embeddingScale: Float, finalLogitSoftcap: Float?) {
        self.layerWindows = layerWindows
        self.localInverseFrequencies = localInverseFrequencies
        self.globalInverseFrequencies = globalInverseFrequencies
        self.attentionScale = attentionScale
        self.embeddingScale = embeddingScale
        self.finalLogitSoftcap = finalLogitSoftcap
    }

    /// llama.cpp's default pattern when the file gives none: `set_swa_pattern(6)`.
    static let defaultPeriod = 6

    /// Layer i is local unless `i % period == period - 1` (llama.cpp's `set_swa_pattern` without `dense_first`;
    /// period 0 makes every layer local).
    static func windows(layers: Int, window: Int, period: Int) -> [Int] {
        (0..<layers).map { i in period == 0 || i % period < period - 1 ? window : 0 }
    }

    /// The `gemma3.*` metadata of a GGUF file; `configuration` holds the common values already read from it.
    init(gguf: GGUFFile, configuration c: ModelConfiguration) throws(ModelFormatError) {
        let file = gguf.file.path, arch = c.architecture
        let check = HyperParameterCheck(file: file)
        func value(_ key: String) -> GGUFValue? { gguf.metadata["\(arch).\(key)"] }
        let window = value("attention.sliding_window")?.int ?? 0
        if window > 0 {
            try check.size("\(arch).attention.sliding_window", window, max: HyperParameterCheck.maxPositions)
            if let flags = value("attention.sliding_window_pattern")?.array {
                let local = flags.compactMap(\.bool)
                guard local.count == c.layerCount else {
                    throw ModelFormatError("'\(file)': \(arch).attention.sliding_window_pattern has \(flags.count) entries for \(c.layerCount) layers")
                }
                layerWindows = local.map { $0 ? window : 0 }
            } else {
                let period = value("attention.sliding_window_pattern")?.int ?? Self.defaultPeriod
                try check.size("\(arch).attention.sliding_window_pattern", period + 1, max: HyperParameterCheck.maxLayers + 1)
                layerWindows = Self.windows(layers: c.layerCount, window: window, period: period)
            }
        } else {
            layerWindows = Array(repeating: 0, count: c.layerCount)
        }
        let localBase = value("rope.freq_base_swa")?.double ?? 10000
        try check.number("\(arch).rope.freq_base_swa", localBase, above: 1)
        localInverseFrequencies = ModelConfiguration.baseInverseFrequencies(base: localBase, dim: c.headDim).map { Float($0) }
        // The common reader applied the file's base and linear scaling (and refused other scaling types).
        globalInverseFrequencies = c.ropeInverseFrequencies
        let headsWidth = c.hiddenSize / c.headCount
        attentionScale = 1 / (c.layerCount == 62 ? Float(headsWidth) : Float(c.headDim)).squareRoot()
        embeddingScale = Float(c.hiddenSize).squareRoot()
        if let cap = value("final_logit_softcapping")?.double, cap != 0 {
            try check.number("\(arch).final_logit_softcapping", cap, above: 0)
            finalLogitSoftcap = Float(cap)
        }
        if let cap = value("attn_logit_softcapping")?.double, cap != 0 {
            throw ModelFormatError("'\(file)': \(arch).attn_logit_softcapping (\(cap)) is not supported (Gemma 2's attention soft-capping)")
        }
    }
}
