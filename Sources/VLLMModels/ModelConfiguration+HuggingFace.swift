import VLLMModelFormats

extension ModelConfiguration {
    /// Maps a Hugging Face `config.json` onto the common configuration.
    public init(huggingFace config: HuggingFaceConfig, directory: String) throws(ModelFormatError) {
        let arch = config.modelType
        guard Self.llamaFamilyTypes.contains(arch) else { throw Self.unsupported(arch, in: directory + "/config.json") }
        let check = HyperParameterCheck(file: directory + "/config.json")
        let heads = config.numAttentionHeads, kvHeads = config.numKeyValueHeads ?? heads
        try check.common(hidden: ("hidden_size", config.hiddenSize), intermediate: ("intermediate_size", config.intermediateSize),
                         layers: ("num_hidden_layers", config.numHiddenLayers), heads: ("num_attention_heads", heads),
                         kvHeads: ("num_key_value_heads", kvHeads), vocabulary: ("vocab_size", config.vocabSize),
                         maxPositions: ("max_position_embeddings", config.maxPositionEmbeddings ?? 4096),
                         rmsNormEps: ("rms_norm_eps", config.rmsNormEps ?? 1e-6), ropeTheta: ("rope_theta", config.ropeTheta ?? 10000))
        if config.headDim == nil { try check.multiple("hidden_size", config.hiddenSize, of: "num_attention_heads", heads) }
        let headDim = config.headDim ?? config.hiddenSize / heads
        try check.headDim("head_dim", headDim)
        var inv = Self.baseInverseFrequencies(base: config.ropeTheta ?? 10000, dim: headDim)
        if let scaling = config.ropeScaling, let kind = scaling.kind, kind != "default" {
            try check.number("rope_scaling.factor", scaling.factor ?? 1, above: 0)
            switch kind {
            case "linear":
                inv = inv.map { $0 / (scaling.factor ?? 1) }
            case "llama3":
                let low = scaling.lowFreqFactor ?? 1, high = scaling.highFreqFactor ?? 4
                try check.number("rope_scaling.low_freq_factor", low, above: 0)
                try check.number("rope_scaling.high_freq_factor", high, above: low)
                try check.size("rope_scaling.original_max_position_embeddings", scaling.originalMaxPositionEmbeddings ?? 8192,
                               max: HyperParameterCheck.maxPositions)
                inv = Self.llama3Scaled(inv, factor: scaling.factor ?? 8, low: scaling.lowFreqFactor ?? 1,
                                        high: scaling.highFreqFactor ?? 4,
                                        originalContext: Double(scaling.originalMaxPositionEmbeddings ?? 8192))
            default:
                throw ModelFormatError("'\(directory)/config.json': rope_scaling type '\(kind)' is not supported (linear and llama3 are)")
            }
        }
        self.init(
            architecture: arch, hiddenSize: config.hiddenSize, intermediateSize: config.intermediateSize,
            layerCount: config.numHiddenLayers, headCount: config.numAttentionHeads,
            kvHeadCount: kvHeads, headDim: headDim,
            vocabularySize: config.vocabSize, maxPositions: config.maxPositionEmbeddings ?? 4096,
            rmsNormEps: Float(config.rmsNormEps ?? 1e-6), ropeInverseFrequencies: inv.map { Float($0) },
            ropeNeoxStyle: true, hasQKNorm: arch == "qwen3" || arch == "qwen3_moe")
        try applySlidingWindow(huggingFace: directory)
    }
}
