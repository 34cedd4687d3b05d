import VLLMModelFormats

extension ModelConfiguration {
    /// Maps a Hugging Face `config.json` onto the common configuration.
    public init(huggingFace config: HuggingFaceConfig, directory: String) throws(ModelFormatError) {
        let arch = config.modelType
        guard Self.supportedArchitectures.contains(arch) else { throw Self.unsupported(arch, in: directory + "/config.json") }
        let headDim = config.headDim ?? config.hiddenSize / config.numAttentionHeads
        var inv = Self.baseInverseFrequencies(base: config.ropeTheta ?? 10000, dim: headDim)
        if let scaling = config.ropeScaling, let kind = scaling.kind, kind != "default" {
            switch kind {
            case "linear":
                inv = inv.map { $0 / (scaling.factor ?? 1) }
            case "llama3":
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
            kvHeadCount: config.numKeyValueHeads ?? config.numAttentionHeads, headDim: headDim,
            vocabularySize: config.vocabSize, maxPositions: config.maxPositionEmbeddings ?? 4096,
            rmsNormEps: Float(config.rmsNormEps ?? 1e-6), ropeInverseFrequencies: inv.map { Float($0) },
            ropeNeoxStyle: true, hasQKNorm: arch == "qwen3")
    }
}
