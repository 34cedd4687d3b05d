import VLLMKernels
import VLLMModelFormats

/// How a mixture-of-experts feed-forward layer routes (vLLM's `FusedMoE` parameters): a router scores `expertCount`
/// experts for each token, the `expertsPerToken` best run on it, and their outputs are summed weighted by the
/// router's softmax probabilities (renormalized over the chosen ones when `normalizesTopK`).
public struct MixtureOfExpertsConfiguration: Sendable, Equatable {
    /// Routed experts in each sparse layer.
    public var expertCount: Int
    /// Experts run on each token (top k).
    public var expertsPerToken: Int
    /// Intermediate width of one routed expert's gated MLP.
    public var expertIntermediateSize: Int
    /// Whether the top-k probabilities are divided by their sum (Mixtral, Qwen3-MoE; `norm_topk_prob`).
    public var normalizesTopK: Bool
    /// Intermediate width of the shared expert every token runs (Qwen2-MoE), 0 when there is none.
    public var sharedExpertIntermediateSize: Int
    /// Layers whose feed-forward is a dense gated MLP of `intermediateSize` instead (Qwen-MoE's `mlp_only_layers`
    /// and `decoder_sparse_step`).
    public var denseLayers: Set<Int>

    public init(expertCount: Int, expertsPerToken: Int, expertIntermediateSize: Int, normalizesTopK: Bool,
                sharedExpertIntermediateSize: Int = 0, denseLayers: Set<Int> = []) {
        self.expertCount = expertCount
        self.expertsPerToken = expertsPerToken
        self.expertIntermediateSize = expertIntermediateSize
        self.normalizesTopK = normalizesTopK
        self.sharedExpertIntermediateSize = sharedExpertIntermediateSize
        self.denseLayers = denseLayers
    }

    /// Largest expert count accepted (DeepSeek-V3 and Qwen3-235B have 256 and 128).
    static let maxExperts = 4096

    /// Checks the counts by the file's own key names.
    func check(_ check: HyperParameterCheck, keys: (count: String, used: String, width: String, shared: String)) throws(ModelFormatError) {
        try check.size(keys.count, expertCount, max: Self.maxExperts)
        try check.size(keys.used, expertsPerToken, max: expertCount)
        try check.size(keys.width, expertIntermediateSize, max: HyperParameterCheck.maxIntermediate)
        if sharedExpertIntermediateSize != 0 {
            try check.size(keys.shared, sharedExpertIntermediateSize, max: HyperParameterCheck.maxIntermediate)
        }
    }

    /// The experts of a GGUF file (`{arch}.expert_count` and friends), nil when it has none. llama.cpp fixes the
    /// normalization per architecture (no key for it): renormalized for `llama` (Mixtral) and `qwen3moe`, not for
    /// `qwen2moe`, as the models were trained.
    init?(gguf: GGUFFile, architecture arch: String, layerCount: Int) throws(ModelFormatError) {
        let file = gguf.file.path
        func int(_ key: String) throws(ModelFormatError) -> Int? {
            guard let value = gguf.metadata["\(arch).\(key)"] else { return nil }
            guard let i = value.int else { throw ModelFormatError("'\(file)': the metadata key \(arch).\(key) is not an integer below 2^63") }
            return i
        }
        let count = try int("expert_count") ?? 0
        guard count > 0 else {
            if arch.hasSuffix("moe") { throw ModelFormatError("'\(file)' is missing the metadata key \(arch).expert_count") }
            return nil
        }
        guard let used = try int("expert_used_count") else {
            throw ModelFormatError("'\(file)' is missing the metadata key \(arch).expert_used_count")
        }
        // Mixtral's experts are `feed_forward_length` wide; the Qwen MoEs give theirs (and the shared expert's) apart.
        let dense = try int("feed_forward_length")
        guard let width = try int("expert_feed_forward_length") ?? dense else {
            throw ModelFormatError("'\(file)' is missing the metadata key \(arch).expert_feed_forward_length")
        }
        var shared = 0
        if arch == "qwen2moe" { shared = try int("expert_shared_feed_forward_length") ?? dense ?? 0 }
        self.init(expertCount: count, expertsPerToken: used, expertIntermediateSize: width, normalizesTopK: arch != "qwen2moe",
                  sharedExpertIntermediateSize: shared)
        if let scale = gguf.metadata["\(arch).expert_weights_scale"]?.double, scale != 1, scale != 0 {
            throw ModelFormatError("'\(file)': \(arch).expert_weights_scale \(scale) is not supported (1 is)")
        }
        try check(HyperParameterCheck(file: file), keys: ("\(arch).expert_count", "\(arch).expert_used_count",
                                                          "\(arch).expert_feed_forward_length", "\(arch).expert_shared_feed_forward_length"))
    }
}

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
    var hiddenAct: String?

    enum CodingKeys: String, CodingKey {
        case numExperts = "num_experts", numLocalExperts = "num_local_experts", numExpertsPerTok = "num_experts_per_tok"
        case moeIntermediateSize = "moe_intermediate_size", sharedExpertIntermediateSize = "shared_expert_intermediate_size"
        case normTopkProb = "norm_topk_prob", decoderSparseStep = "decoder_sparse_step", mlpOnlyLayers = "mlp_only_layers"
        case hiddenAct = "hidden_act"
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
        try c.experts?.check(check, keys: (mixtral ? "num_local_experts" : "num_experts", "num_experts_per_tok",
                                           mixtral ? "intermediate_size" : "moe_intermediate_size", "shared_expert_intermediate_size"))
        return c
    }

}

extension LlamaModel {
    /// Qwen2-MoE (with its gated shared expert), Qwen3-MoE and Mixtral: Llama-family attention, mixture-of-experts
    /// feed-forward layers (`MixtureOfExperts`). Mixtral's GGUF files say `llama` and load through `architecture`.
    public static let mixtureOfExpertsArchitecture = ModelArchitecture(
        name: "moe", ggufNames: ["qwen2moe", "qwen3moe"],
        huggingFaceNames: ["Qwen2MoeForCausalLM", "Qwen3MoeForCausalLM", "MixtralForCausalLM"],
        fromGGUF: { file, pool, dtype, _ throws(ModelFormatError) in try load(gguf: file, pool: pool, dtype: dtype) },
        fromHuggingFace: { config, directory, pool, dtype, _ throws(ModelFormatError) in
            try load(configuration: ModelConfiguration.mixtureOfExperts(huggingFace: config, directory: directory),
                     config: config, directory: directory, pool: pool, dtype: dtype)
        })
}
