import VLLMModelFormats

/// The `config.json` fields of Qwen2-MoE, Qwen3-MoE and Mixtral beyond the Llama family's (`Qwen2MoeConfig`,
/// `Qwen3MoeConfig`, `MixtralConfig` in transformers). Training-only fields (`router_aux_loss_coef`,
/// `output_router_logits`, `router_jitter_noise`, which is off at inference) change nothing here.
struct MixtureOfExpertsFields: Decodable {
    var numExperts: Int?
    var numLocalExperts: Int?
    var numExpertsPerTok: Int?
    var moeIntermediateSize: Int?
    var sharedExpertIntermediateSize: Int?
    var normTopkProb: Bool?
    var decoderSparseStep: Int?
    var mlpOnlyLayers: [Int]?
    var useSlidingWindow: Bool?
    var slidingWindow: Int?
    var hiddenAct: String?

    enum CodingKeys: String, CodingKey {
        case numExperts = "num_experts", numLocalExperts = "num_local_experts", numExpertsPerTok = "num_experts_per_tok"
        case moeIntermediateSize = "moe_intermediate_size", sharedExpertIntermediateSize = "shared_expert_intermediate_size"
        case normTopkProb = "norm_topk_prob", decoderSparseStep = "decoder_sparse_step", mlpOnlyLayers = "mlp_only_layers"
        case useSlidingWindow = "use_sliding_window", slidingWindow = "sliding_window", hiddenAct = "hidden_act"
    }
}

extension ModelConfiguration {
    /// A Qwen2-MoE, Qwen3-MoE or Mixtral `config.json`: the Llama-family fields, then the experts'.
    static func mixtureOfExperts(huggingFace config: HuggingFaceConfig, directory: String) throws(ModelFormatError) -> ModelConfiguration {
        let file = directory + "/config.json"
        let fields = try ConfigFields.decode(MixtureOfExpertsFields.self, directory: directory)
        var c = try ModelConfiguration(huggingFace: config, directory: directory)
        let check = HyperParameterCheck(file: file)
        if let act = fields.hiddenAct, act != "silu" {
            throw ModelFormatError("'\(file)': hidden_act '\(act)' is not supported (silu is)")
        }
        let mixtral = config.modelType == "mixtral"
        guard let count = fields.numExperts ?? fields.numLocalExperts else {
            throw ModelFormatError("'\(file)' has no num_experts (or num_local_experts)")
        }
        guard let used = fields.numExpertsPerTok else { throw ModelFormatError("'\(file)' has no num_experts_per_tok") }
        let width = mixtral ? config.intermediateSize : (fields.moeIntermediateSize ?? config.intermediateSize)
        // transformers' defaults: Mixtral always renormalizes; the Qwen MoE configs default norm_topk_prob to false.
        let normalizes = mixtral ? true : (fields.normTopkProb ?? false)
        let shared = config.modelType == "qwen2_moe" ? (fields.sharedExpertIntermediateSize ?? 0) : 0
        if config.modelType != "qwen2_moe", let s = fields.sharedExpertIntermediateSize, s > 0 {
            throw ModelFormatError("'\(file)': shared_expert_intermediate_size is only supported for qwen2_moe")
        }
        // Qwen-MoE: layer i is sparse unless listed in mlp_only_layers or (i + 1) is not a multiple of decoder_sparse_step.
        let step = fields.decoderSparseStep ?? 1
        try check.size("decoder_sparse_step", step, max: HyperParameterCheck.maxLayers)
        let onlyMLP = Set(fields.mlpOnlyLayers ?? [])
        let dense = Set((0..<c.layerCount).filter { onlyMLP.contains($0) || ($0 + 1) % step != 0 })
        c.experts = MixtureOfExpertsConfiguration(expertCount: count, expertsPerToken: used, expertIntermediateSize: width,
                                                  normalizesTopK: normalizes, sharedExpertIntermediateSize: shared,
                                                  denseLayers: mixtral ? [] : dense)
        try c.experts!.check(check, keys: (mixtral ? "num_local_experts" : "num_experts", "num_experts_per_tok",
                                           mixtral ? "intermediate_size" : "moe_intermediate_size", "shared_expert_intermediate_size"))
        // Mixtral's sliding window applies to every layer; the Qwen MoEs use theirs only with use_sliding_window.
        if mixtral, let window = fields.slidingWindow {
            try c.limitContext(toSlidingWindow: window, key: "sliding_window", file: file)
        } else if !mixtral, fields.useSlidingWindow == true {
            throw ModelFormatError("'\(file)': use_sliding_window (sliding-window attention on some layers) is not supported")
        }
        return c
    }

    /// Honours a sliding window of `window` tokens on every layer by limiting the context to it: within `window`
    /// positions a sliding window attends to every earlier token, exactly as full attention does (transformers
    /// masks keys more than `window - 1` positions back).
    mutating func limitContext(toSlidingWindow window: Int, key: String, file: String) throws(ModelFormatError) {
        guard window > 0 else { return }  // 0: no window (the Phi-4 convention)
        try HyperParameterCheck(file: file).size(key, window, max: HyperParameterCheck.maxPositions)
        maxPositions = min(maxPositions, window)
    }
}
