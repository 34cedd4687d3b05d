import Foundation

/// The fields of a Hugging Face `config.json` that Llama-family models use (snake_case keys as in the file).
public struct HuggingFaceConfig: Sendable, Decodable, Equatable {
    public var architectures: [String]?
    public var modelType: String
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int?
    public var headDim: Int?
    public var vocabSize: Int
    public var maxPositionEmbeddings: Int?
    public var rmsNormEps: Double?
    public var ropeTheta: Double?
    public var ropeScaling: RopeScaling?
    public var tieWordEmbeddings: Bool?
    public var attentionBias: Bool?
    public var bosTokenID: IntOrList?
    public var eosTokenID: IntOrList?
    public var torchDtype: String?
    /// `quantization_config`, for AWQ, GPTQ and compressed-tensors checkpoints (read by `load(directory:)`).
    public var quantization: QuantizationConfig?

    /// `rope_scaling` (Llama 3 style and linear).
    public struct RopeScaling: Sendable, Decodable, Equatable {
        public var ropeType: String?
        public var type: String?
        public var factor: Double?
        public var lowFreqFactor: Double?
        public var highFreqFactor: Double?
        public var originalMaxPositionEmbeddings: Int?
        /// transformers 5 keeps the base inside `rope_parameters`.
        public var ropeTheta: Double?

        enum CodingKeys: String, CodingKey {
            case ropeType = "rope_type", type, factor, lowFreqFactor = "low_freq_factor", ropeTheta = "rope_theta"
            case highFreqFactor = "high_freq_factor", originalMaxPositionEmbeddings = "original_max_position_embeddings"
        }

        /// The scaling kind, whichever of the two keys the file used.
        public var kind: String? { ropeType ?? type }
    }

    /// A token id given as one number or a list (`eos_token_id` often is a list).
    public enum IntOrList: Sendable, Decodable, Equatable {
        case one(Int), many([Int])

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Int.self) { self = .one(value) } else { self = .many(try container.decode([Int].self)) }
        }

        public var values: [Int] {
            switch self {
            case .one(let v): [v]
            case .many(let v): v
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case architectures, modelType = "model_type", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", headDim = "head_dim", vocabSize = "vocab_size"
        case maxPositionEmbeddings = "max_position_embeddings", rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling", tieWordEmbeddings = "tie_word_embeddings", attentionBias = "attention_bias"
        case bosTokenID = "bos_token_id", eosTokenID = "eos_token_id", torchDtype = "torch_dtype"
        case ropeParameters = "rope_parameters", dtype
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures)
        modelType = try c.decode(String.self, forKey: .modelType)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads)
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings)
        rmsNormEps = try c.decodeIfPresent(Double.self, forKey: .rmsNormEps)
        ropeTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta)
        ropeScaling = try c.decodeIfPresent(RopeScaling.self, forKey: .ropeScaling)
        // transformers 5 writes `rope_parameters` (type, theta and scaling together) instead.
        if let parameters = try c.decodeIfPresent(RopeScaling.self, forKey: .ropeParameters) {
            if ropeTheta == nil { ropeTheta = parameters.ropeTheta }
            if ropeScaling == nil, let kind = parameters.kind, kind != "default" { ropeScaling = parameters }
        }
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings)
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias)
        bosTokenID = try? c.decodeIfPresent(IntOrList.self, forKey: .bosTokenID)
        eosTokenID = try? c.decodeIfPresent(IntOrList.self, forKey: .eosTokenID)
        torchDtype = try c.decodeIfPresent(String.self, forKey: .torchDtype) ?? c.decodeIfPresent(String.self, forKey: .dtype)
    }

    /// Reads `config.json` from a model directory.
    public static func load(directory: String) throws(ModelFormatError) -> HuggingFaceConfig {
        let path = directory + "/config.json"
        guard let data = try MappedFile.contents(of: path) else {
            throw ModelFormatError("'\(directory)' has no readable config.json")
        }
        var config: HuggingFaceConfig
        do {
            config = try JSONDecoder().decode(HuggingFaceConfig.self, from: Data(data))
        } catch {
            throw ModelFormatError("'\(path)' is not a valid model config: \(ModelFormatError.describe(error))")
        }
        if let object = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
           let quantization = object["quantization_config"] as? [String: Any] {
            config.quantization = try QuantizationConfig(json: quantization, file: path)
        }
        return config
    }
}
