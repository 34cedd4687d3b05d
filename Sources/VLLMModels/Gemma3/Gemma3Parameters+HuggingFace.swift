import Foundation
import VLLMModelFormats

/// The keys of a Gemma 3 `config.json` (transformers' `Gemma3TextConfig`, `model_type` `gemma3_text`) that the
/// common `HuggingFaceConfig` does not read.
struct Gemma3HuggingFaceConfig: Decodable {
    /// One entry of transformers 5's per-layer-type `rope_parameters`, or the old `rope_scaling`.
    struct Rope: Decodable {
        var ropeType: String?
        var type: String?
        var ropeTheta: Double?
        var factor: Double?
        var kind: String? { ropeType ?? type }
        enum CodingKeys: String, CodingKey { case ropeType = "rope_type", type, ropeTheta = "rope_theta", factor }
    }

    var layerTypes: [String]?
    var slidingWindowPattern: Int?
    var slidingWindow: Int?
    var queryPreAttnScalar: Double?
    var ropeTheta: Double?
    var ropeLocalBaseFreq: Double?
    var ropeScaling: Rope?
    /// transformers 5: `{"full_attention": {...}, "sliding_attention": {...}}`.
    var ropeParameters: [String: Rope]?
    var finalLogitSoftcapping: Double?
    var attnLogitSoftcapping: Double?
    var hiddenActivation: String?

    enum CodingKeys: String, CodingKey {
        case layerTypes = "layer_types", slidingWindowPattern = "sliding_window_pattern", slidingWindow = "sliding_window"
        case queryPreAttnScalar = "query_pre_attn_scalar", ropeTheta = "rope_theta", ropeLocalBaseFreq = "rope_local_base_freq"
        case ropeScaling = "rope_scaling", ropeParameters = "rope_parameters", finalLogitSoftcapping = "final_logit_softcapping"
        case attnLogitSoftcapping = "attn_logit_softcapping", hiddenActivation = "hidden_activation"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        layerTypes = try c.decodeIfPresent([String].self, forKey: .layerTypes)
        slidingWindowPattern = try c.decodeIfPresent(Int.self, forKey: .slidingWindowPattern)
        slidingWindow = try c.decodeIfPresent(Int.self, forKey: .slidingWindow)
        queryPreAttnScalar = try c.decodeIfPresent(Double.self, forKey: .queryPreAttnScalar)
        ropeTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta)
        ropeLocalBaseFreq = try c.decodeIfPresent(Double.self, forKey: .ropeLocalBaseFreq)
        ropeScaling = try c.decodeIfPresent(Rope.self, forKey: .ropeScaling)
        ropeParameters = try? c.decodeIfPresent([String: Rope].self, forKey: .ropeParameters)
        finalLogitSoftcapping = try c.decodeIfPresent(Double.self, forKey: .finalLogitSoftcapping)
        attnLogitSoftcapping = try c.decodeIfPresent(Double.self, forKey: .attnLogitSoftcapping)
        hiddenActivation = try c.decodeIfPresent(String.self, forKey: .hiddenActivation)
    }
}

extension Gemma3Parameters {
    /// The Gemma 3 values of a Hugging Face folder, and the common configuration with the global layers' RoPE.
    static func huggingFace(_ config: HuggingFaceConfig, directory: String) throws(ModelFormatError)
        -> (ModelConfiguration, Gemma3Parameters) {
        let file = directory + "/config.json"
        let extra: Gemma3HuggingFaceConfig
        do {
            guard let data = try MappedFile.contents(of: file) else { throw ModelFormatError("'\(directory)' has no readable config.json") }
            extra = try JSONDecoder().decode(Gemma3HuggingFaceConfig.self, from: Data(data))
        } catch let error as ModelFormatError {
            throw error
        } catch {
            throw ModelFormatError("'\(file)' is not a valid Gemma 3 config: \(error)")
        }
        let check = HyperParameterCheck(file: file)
        let heads = config.numAttentionHeads, kvHeads = config.numKeyValueHeads ?? heads
        let headDim = config.headDim ?? 256
        let globalRope = extra.ropeParameters?["full_attention"], localRope = extra.ropeParameters?["sliding_attention"]
        let globalBase = globalRope?.ropeTheta ?? extra.ropeTheta ?? 1_000_000
        let localBase = localRope?.ropeTheta ?? extra.ropeLocalBaseFreq ?? 10000
        try check.common(hidden: ("hidden_size", config.hiddenSize), intermediate: ("intermediate_size", config.intermediateSize),
                         layers: ("num_hidden_layers", config.numHiddenLayers), heads: ("num_attention_heads", heads),
                         kvHeads: ("num_key_value_heads", kvHeads), vocabulary: ("vocab_size", config.vocabSize),
                         maxPositions: ("max_position_embeddings", config.maxPositionEmbeddings ?? 131_072),
                         rmsNormEps: ("rms_norm_eps", config.rmsNormEps ?? 1e-6), ropeTheta: ("rope_theta", globalBase))
        try check.headDim("head_dim", headDim)
        try check.number("rope_local_base_freq", localBase, above: 1)
        if let activation = extra.hiddenActivation, activation != "gelu_pytorch_tanh" {
            throw ModelFormatError("'\(file)': hidden_activation '\(activation)' is not supported (gelu_pytorch_tanh is)")
        }
        if let cap = extra.attnLogitSoftcapping, cap != 0 {
            throw ModelFormatError("'\(file)': attn_logit_softcapping (\(cap)) is not supported")
        }
        var global = ModelConfiguration.baseInverseFrequencies(base: globalBase, dim: headDim)
        if let scaling = globalRope ?? extra.ropeScaling, let kind = scaling.kind, kind != "default" {
            guard kind == "linear" else { throw ModelFormatError("'\(file)': rope scaling '\(kind)' is not supported (linear is)") }
            let factor = scaling.factor ?? 1
            try check.number("rope_scaling.factor", factor, above: 0)
            global = global.map { $0 / factor }
        }
        let configuration = ModelConfiguration(
            architecture: "gemma3", hiddenSize: config.hiddenSize, intermediateSize: config.intermediateSize,
            layerCount: config.numHiddenLayers, headCount: heads, kvHeadCount: kvHeads, headDim: headDim,
            vocabularySize: config.vocabSize, maxPositions: config.maxPositionEmbeddings ?? 131_072,
            rmsNormEps: Float(config.rmsNormEps ?? 1e-6), ropeInverseFrequencies: global.map { Float($0) },
            ropeNeoxStyle: true, hasQKNorm: true)
        let layers = config.numHiddenLayers
        var windows = Array(repeating: 0, count: layers)
        if let window = extra.slidingWindow, window > 0 {
            try check.size("sliding_window", window, max: HyperParameterCheck.maxPositions)
            if let types = extra.layerTypes {
                guard types.count == layers, types.allSatisfy({ $0 == "sliding_attention" || $0 == "full_attention" }) else {
                    throw ModelFormatError("'\(file)': layer_types must list sliding_attention or full_attention for each of the \(layers) layers")
                }
                windows = types.map { $0 == "sliding_attention" ? window : 0 }
            } else {
                // transformers' older rule: layer i is global when (i + 1) % pattern == 0.
                let period = extra.slidingWindowPattern ?? Self.defaultPeriod
                try check.size("sliding_window_pattern", period, max: HyperParameterCheck.maxLayers)
                windows = Self.windows(layers: layers, window: window, period: period)
            }
        }
        let scalar = extra.queryPreAttnScalar ?? Double(headDim)
        try check.number("query_pre_attn_scalar", scalar, above: 0)
        var cap: Float?
        if let c = extra.finalLogitSoftcapping, c != 0 {
            try check.number("final_logit_softcapping", c, above: 0)
            cap = Float(c)
        }
        let parameters = Gemma3Parameters(
            layerWindows: windows,
            localInverseFrequencies: ModelConfiguration.baseInverseFrequencies(base: localBase, dim: headDim).map { Float($0) },
            globalInverseFrequencies: configuration.ropeInverseFrequencies,
            attentionScale: Float(1 / scalar.squareRoot()), embeddingScale: Float(config.hiddenSize).squareRoot(),
            finalLogitSoftcap: cap)
        return (configuration, parameters)
    }
}
