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
                  let long = scaling.longFactor, long.count == half, long.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw ModelFormatError("'\(file)': rope_scaling needs short_factor and long_factor of \(half) positive numbers each")
            }
            let factor = scaling.factor ?? Double(c.maxPositions) / Double(original)
            let attention = scaling.attentionFactor ?? (factor <= 1 ? 1 : (1 + log(factor) / log(Double(original))).squareRoot())
            c.applyLongRoPE(shortFactors: short, longFactors: long, attentionFactor: attention, originalContext: original,
                            theta: config.ropeTheta ?? 10000)
        } else if let kind, kind != "default" {
            throw ModelFormatError("'\(file)': rope_scaling type '\(kind)' is not supported for Phi-3 (longrope is)")
        }
        return c
    }

    /// LongRoPE: each pair's frequency divided by its short factor (its long factor once the context exceeds
    /// `originalContext`, see `fitContext`), the cosines and sines scaled by `attentionFactor`.
    mutating func applyLongRoPE(shortFactors: [Double], longFactors: [Double]?, attentionFactor: Double, originalContext: Int,
                                theta: Double) {
        let base = Self.baseInverseFrequencies(base: theta, dim: headDim)
        ropeInverseFrequencies = zip(base, shortFactors).map { Float($0 / $1) }
        ropeAttentionFactor = Float(attentionFactor)
        if let longFactors {
            longRoPE = LongRoPE(inverseFrequencies: zip(base, longFactors).map { Float($0 / $1) }, originalContext: originalContext)
        } else {
            // Without long factors (a GGUF that lacks them) the context stops at the original one.
            maxPositions = min(maxPositions, originalContext)
        }
        if let window = slidingWindow, window >= maxPositions { slidingWindow = nil }
    }

    /// Takes LongRoPE's long factors for every position when the engine's context exceeds the original one, as
    /// llama.cpp decides once for its context (transformers decides per forward call on the sequence's length, and
    /// vLLM per batch; a choice fixed for the engine keeps every token's result independent of its batch).
    public mutating func fitContext(_ length: Int) {
        guard let longRoPE, length > longRoPE.originalContext else { return }
        ropeInverseFrequencies = longRoPE.inverseFrequencies
    }

    /// Phi-3's GGUF extras (convert_hf_to_gguf's `Phi3MiniModel`): LongRoPE's `rope_factors_short.weight` and
    /// `rope_factors_long.weight` with `phi3.rope.scaling.attn_factor` and `.original_context_length` (llama.cpp uses
    /// the long factors when its context exceeds the original, as `fitContext` does), and `phi3.attention.sliding_window`, honoured as transformers and vLLM do
    /// (llama.cpp turns Phi-3's window off instead; within the window both agree).
    mutating func applyPhi3(gguf: GGUFFile) throws(ModelFormatError) {
        let file = gguf.file.path
        if let short = try Self.ropeFactors("rope_factors_short.weight", in: gguf, count: headDim / 2) {
            let long = try Self.ropeFactors("rope_factors_long.weight", in: gguf, count: headDim / 2)
            let attention = gguf.metadata["phi3.rope.scaling.attn_factor"]?.double ?? 1
            try HyperParameterCheck(file: file).number("phi3.rope.scaling.attn_factor", attention, above: 0)
            let original = gguf.metadata["phi3.rope.scaling.original_context_length"]?.int ?? maxPositions
            let theta = gguf.metadata["phi3.rope.freq_base"]?.double ?? 10000
            applyLongRoPE(shortFactors: short, longFactors: long, attentionFactor: attention, originalContext: original, theta: theta)
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
        name: "phi3", ggufNames: ["phi3"], huggingFaceNames: ["Phi3ForCausalLM"], tensorParallel: true,
        fromGGUF: { file, pool, dtype, shard throws(ModelFormatError) in try load(gguf: file, pool: pool, dtype: dtype, shard: shard) },
        fromHuggingFace: { config, directory, pool, dtype, shard throws(ModelFormatError) in
            try load(configuration: ModelConfiguration.phi3(huggingFace: config, directory: directory), config: config, directory: directory,
                     pool: pool, dtype: dtype, shard: shard)
        })
}

extension ModelConfiguration {
    /// LongRoPE's long-context frequencies and the context length up to which the short ones apply.
    public struct LongRoPE: Sendable, Equatable {
        public var inverseFrequencies: [Float]
        public var originalContext: Int
    }

    /// A GGUF rope-factor vector (`count` finite positive f32 values), if the file has it.
    static func ropeFactors(_ name: String, in gguf: GGUFFile, count: Int) throws(ModelFormatError) -> [Double]? {
        guard let tensor = gguf.tensor(named: name) else { return nil }
        let file = gguf.file.path
        guard tensor.type == .f32, tensor.elementCount == count else { throw ModelFormatError("'\(file)': \(name) must be \(count) f32 values") }
        let factors = gguf.data(of: tensor).bindMemory(to: Float.self).map(Double.init)
        guard factors.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw ModelFormatError("'\(file)': \(name) holds a value that is not a finite positive number")
        }
        return factors
    }
}
