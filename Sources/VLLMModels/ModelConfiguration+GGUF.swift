import VLLMModelFormats

extension ModelConfiguration {
    /// The `general.architecture` values whose common metadata this reader knows (Gemma 3's own keys:
    /// `Gemma3Parameters`).
    static let ggufArchitectures = ["llama", "qwen2", "qwen3", "gemma3"]

    /// Reads `{arch}.*` metadata of a GGUF file (GGUF-FACTS §4.2).
    public init(gguf: GGUFFile) throws(ModelFormatError) {
        let file = gguf.file.path
        guard let arch = gguf.metadata["general.architecture"]?.string else {
            throw ModelFormatError("'\(file)' has no general.architecture")
        }
        guard Self.ggufArchitectures.contains(arch) else { throw Self.unsupported(arch, in: file) }
        func int(_ key: String, default value: Int? = nil) throws(ModelFormatError) -> Int {
            if let v = gguf.metadata["\(arch).\(key)"] {
                if let i = v.int { return i }
                if let first = v.array?.first?.int { return first }  // per-layer arrays: same for every layer here
                throw ModelFormatError("'\(file)': the metadata key \(arch).\(key) is not an integer below 2^63")
            }
            if let value { return value }
            throw ModelFormatError("'\(file)' is missing the metadata key \(arch).\(key)")
        }
        let hidden = try int("embedding_length")
        let heads = try int("attention.head_count"), kvHeads = try int("attention.head_count_kv", default: heads)
        guard let eps = gguf.metadata["\(arch).attention.layer_norm_rms_epsilon"]?.float else {
            throw ModelFormatError("'\(file)' is missing \(arch).attention.layer_norm_rms_epsilon")
        }
        let vocab = try int("vocab_size", default: gguf.metadata["tokenizer.ggml.tokens"]?.array?.count
            ?? gguf.tensor(named: "token_embd.weight")?.shape.last)
        let base = gguf.metadata["\(arch).rope.freq_base"]?.double ?? 10000
        let check = HyperParameterCheck(file: file)
        try check.common(hidden: ("\(arch).embedding_length", hidden), intermediate: ("\(arch).feed_forward_length", try int("feed_forward_length")),
                         layers: ("\(arch).block_count", try int("block_count")), heads: ("\(arch).attention.head_count", heads),
                         kvHeads: ("\(arch).attention.head_count_kv", kvHeads), vocabulary: ("\(arch).vocab_size", vocab),
                         maxPositions: ("\(arch).context_length", try int("context_length")),
                         rmsNormEps: ("\(arch).attention.layer_norm_rms_epsilon", Double(eps)), ropeTheta: ("\(arch).rope.freq_base", base))
        if gguf.metadata["\(arch).attention.key_length"] == nil {
            try check.multiple("\(arch).embedding_length", hidden, of: "\(arch).attention.head_count", heads)
        }
        let headDim = try int("attention.key_length", default: hidden / heads)
        try check.headDim("\(arch).attention.key_length", headDim)
        let rot = try int("rope.dimension_count", default: headDim)
        guard rot == headDim else {
            throw ModelFormatError("'\(file)': partial rotary embeddings (rope.dimension_count \(rot) ≠ head size \(headDim)) are not supported")
        }
        var inv = Self.baseInverseFrequencies(base: base, dim: headDim)
        if let type = gguf.metadata["\(arch).rope.scaling.type"]?.string, type != "none", type != "linear" {
            throw ModelFormatError("'\(file)': RoPE scaling '\(type)' is not supported (none, linear, and Llama 3's rope_freqs are)")
        }
        // 0 means no scaling in llama.cpp; a negative or NaN factor is garbage.
        if let factor = gguf.metadata["\(arch).rope.scaling.factor"]?.double, factor != 0 {
            try check.number("\(arch).rope.scaling.factor", factor, above: 0)
            inv = inv.map { $0 / factor }
        }
        // Llama 3: per-pair divisors stored as a tensor.
        if let freqs = gguf.tensor(named: "rope_freqs.weight") {
            guard freqs.type == .f32, freqs.elementCount == headDim / 2 else {
                throw ModelFormatError("'\(file)': rope_freqs.weight must be \(headDim / 2) f32 values")
            }
            let divisors = gguf.data(of: freqs).bindMemory(to: Float.self)
            guard divisors.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw ModelFormatError("'\(file)': rope_freqs.weight holds a value that is not a finite positive number")
            }
            inv = inv.enumerated().map { $0.element / Double(divisors[$0.offset]) }
        }
        self.init(
            architecture: arch, hiddenSize: hidden, intermediateSize: try int("feed_forward_length"),
            layerCount: try int("block_count"), headCount: heads, kvHeadCount: kvHeads,
            headDim: headDim, vocabularySize: vocab, maxPositions: try int("context_length"), rmsNormEps: eps,
            ropeInverseFrequencies: inv.map { Float($0) }, ropeNeoxStyle: arch != "llama", hasQKNorm: arch == "qwen3" || arch == "gemma3")
    }
}
