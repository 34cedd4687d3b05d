import Foundation
import VLLMKernels
import VLLMModelFormats

/// The `config.json` fields of Phi-3 beyond the Llama family's (`Phi3Config` in transformers): LongRoPE scaling,
/// partial rotary embeddings and the sliding window. Dropout rates are training-only.
struct Phi3Fields: Decodable {
    struct Scaling: Decodable {
        var ropeType: String?
        var type: String?
        var shortFactor: [Double]?
        var longFactor: [Double]?
        var factor: Double?
        var attentionFactor: Double?
        var originalMaxPositionEmbeddings: Int?
        var partialRotaryFactor: Double?

        enum CodingKeys: String, CodingKey {
            case ropeType = "rope_type", type, shortFactor = "short_factor", longFactor = "long_factor", factor
            case attentionFactor = "attention_factor", originalMaxPositionEmbeddings = "original_max_position_embeddings"
            case partialRotaryFactor = "partial_rotary_factor"
        }
    }

    var ropeScaling: Scaling?
    var ropeParameters: Scaling?
    var partialRotaryFactor: Double?
    var originalMaxPositionEmbeddings: Int?
    var hiddenAct: String?

    enum CodingKeys: String, CodingKey {
        case ropeScaling = "rope_scaling", ropeParameters = "rope_parameters", partialRotaryFactor = "partial_rotary_factor"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        case hiddenAct = "hidden_act"
    }
}

extension ModelConfiguration {
    /// A Phi-3 `config.json`: the Llama-family fields, then LongRoPE (`rope_scaling` of type `longrope`, or `su`
    /// as the first Phi-3 128k configs spelled it), `partial_rotary_factor` (refused unless 1) and `sliding_window`.
    static func phi3(huggingFace config: HuggingFaceConfig, directory: String) throws(ModelFormatError) -> ModelConfiguration {
        let file = directory + "/config.json"
        let fields = try ConfigFields.decode(Phi3Fields.self, directory: directory)
        if let act = fields.hiddenAct, act != "silu" { throw ModelFormatError("'\(file)': hidden_act '\(act)' is not supported (silu is)") }
        let scaling = fields.ropeScaling ?? fields.ropeParameters
        let kind = scaling?.ropeType ?? scaling?.type
        let longRoPE = kind == "longrope" || kind == "su"
        var plain = config
        if longRoPE { plain.ropeScaling = nil }  // computed below
        var c = try ModelConfiguration(huggingFace: plain, directory: directory)
        let partial = fields.partialRotaryFactor ?? scaling?.partialRotaryFactor ?? 1
        guard partial == 1 else {
            throw ModelFormatError("'\(file)': partial_rotary_factor \(partial) (partial rotary embeddings) is not supported")
        }
        if longRoPE, let scaling {
            let original = scaling.originalMaxPositionEmbeddings ?? fields.originalMaxPositionEmbeddings ?? c.maxPositions
            try HyperParameterCheck(file: file).size("original_max_position_embeddings", original, max: HyperParameterCheck.maxPositions)
            let half = c.headDim / 2
            guard let short = scaling.shortFactor, short.count == half, short.allSatisfy({ $0.isFinite && $0 > 0 }),
                  scaling.longFactor?.count == half else {
                throw ModelFormatError("'\(file)': rope_scaling needs short_factor and long_factor of \(half) positive numbers each")
            }
            let factor = scaling.factor ?? Double(c.maxPositions) / Double(original)
            let attention = scaling.attentionFactor ?? (factor <= 1 ? 1 : (1 + log(factor) / log(Double(original))).squareRoot())
            c.applyLongRoPE(shortFactors: short, attentionFactor: attention, originalContext: original, theta: config.ropeTheta ?? 10000)
        } else if let kind, kind != "default" {
            throw ModelFormatError("'\(file)': rope_scaling type '\(kind)' is not supported for Phi-3 (longrope is)")
        }
        return c
    }

    /// LongRoPE within the original context: each pair's frequency divided by its short factor, the cosines and
    /// sines scaled by `attentionFactor`. Beyond `originalContext` tokens transformers, vLLM and llama.cpp switch to
    /// the long factors; this engine does not, so the context stops there (`maxPositions`).
    mutating func applyLongRoPE(shortFactors: [Double], attentionFactor: Double, originalContext: Int, theta: Double) {
        let base = Self.baseInverseFrequencies(base: theta, dim: headDim)
        ropeInverseFrequencies = zip(base, shortFactors).map { Float($0 / $1) }
        ropeAttentionFactor = Float(attentionFactor)
        maxPositions = min(maxPositions, originalContext)
        if let window = slidingWindow, window >= maxPositions { slidingWindow = nil }
    }

    /// Phi-3's GGUF extras (convert_hf_to_gguf's `Phi3MiniModel`): LongRoPE's `rope_factors_short.weight` with
    /// `phi3.rope.scaling.attn_factor` and `.original_context_length` (llama.cpp uses the short factors while the
    /// context is within the original), and `phi3.attention.sliding_window`, honoured as transformers and vLLM do
    /// (llama.cpp turns Phi-3's window off instead; within the window both agree).
    mutating func applyPhi3(gguf: GGUFFile) throws(ModelFormatError) {
        let file = gguf.file.path
        if let short = gguf.tensor(named: "rope_factors_short.weight") {
            guard short.type == .f32, short.elementCount == headDim / 2 else {
                throw ModelFormatError("'\(file)': rope_factors_short.weight must be \(headDim / 2) f32 values")
            }
            let factors = gguf.data(of: short).bindMemory(to: Float.self).map(Double.init)
            guard factors.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw ModelFormatError("'\(file)': rope_factors_short.weight holds a value that is not a finite positive number")
            }
            let attention = gguf.metadata["phi3.rope.scaling.attn_factor"]?.double ?? 1
            try HyperParameterCheck(file: file).number("phi3.rope.scaling.attn_factor", attention, above: 0)
            let original = gguf.metadata["phi3.rope.scaling.original_context_length"]?.int ?? maxPositions
            let theta = gguf.metadata["phi3.rope.freq_base"]?.double ?? 10000
            applyLongRoPE(shortFactors: factors, attentionFactor: attention, originalContext: original, theta: theta)
        }
        if let window = gguf.metadata["phi3.attention.sliding_window"]?.int {
            try useSlidingWindow(window, key: "phi3.attention.sliding_window", file: file)
        }
    }
}

extension LlamaModel {
    /// Phi-3 (mini, small-context and LongRoPE 128k configs): a Llama-family decoder whose Q, K, V and gate, up
    /// projections are fused matrices, bound as views into them (`LlamaLayer`, `GatedMLP(fusedGateUp:down:)`).
    public static let phi3Architecture = ModelArchitecture(
        name: "phi3", ggufNames: ["phi3"], huggingFaceNames: ["Phi3ForCausalLM"],
        fromGGUF: { file, pool, dtype throws(ModelFormatError) in try load(gguf: file, pool: pool, dtype: dtype) },
        fromHuggingFace: { config, directory, pool, dtype throws(ModelFormatError) in
            try load(configuration: ModelConfiguration.phi3(huggingFace: config, directory: directory), config: config, directory: directory,
                     pool: pool, dtype: dtype)
        })
}
