import VLLMKernels
import VLLMModelFormats

/// The weights of one BERT encoder layer, by their GGUF names (llama.cpp's `LLM_ARCH_BERT`); shapes rows × columns.
/// Post-norm: each sub-block's output is added to its input, then LayerNorm'd (`attn_output_norm`,
/// `layer_output_norm`).
struct BertLayer {
    var query: WeightMatrix                 // [hidden, hidden]
    var key: WeightMatrix                   // [hidden, hidden]
    var value: WeightMatrix                 // [hidden, hidden]
    var queryBias: [Float]                  // [hidden]
    var keyBias: [Float]                    // [hidden]
    var valueBias: [Float]                  // [hidden]
    var attentionOutput: WeightMatrix       // [hidden, hidden]
    var attentionOutputBias: [Float]        // [hidden]
    var attentionNormWeight: [Float]        // [hidden]
    var attentionNormBias: [Float]          // [hidden]
    var up: WeightMatrix                    // [intermediate, hidden]
    var upBias: [Float]                     // [intermediate]
    var down: WeightMatrix                  // [hidden, intermediate]
    var downBias: [Float]                   // [hidden]
    var outputNormWeight: [Float]           // [hidden]
    var outputNormBias: [Float]             // [hidden]

    init(index i: Int, hidden: Int, intermediate: Int, store: WeightStore) throws(ModelFormatError) {
        let p = "blk.\(i)."
        query = try store.matrix(p + "attn_q.weight", rows: hidden, columns: hidden)
        key = try store.matrix(p + "attn_k.weight", rows: hidden, columns: hidden)
        value = try store.matrix(p + "attn_v.weight", rows: hidden, columns: hidden)
        queryBias = try store.vector(p + "attn_q.bias", count: hidden)
        keyBias = try store.vector(p + "attn_k.bias", count: hidden)
        valueBias = try store.vector(p + "attn_v.bias", count: hidden)
        attentionOutput = try store.matrix(p + "attn_output.weight", rows: hidden, columns: hidden)
        attentionOutputBias = try store.vector(p + "attn_output.bias", count: hidden)
        attentionNormWeight = try store.vector(p + "attn_output_norm.weight", count: hidden)
        attentionNormBias = try store.vector(p + "attn_output_norm.bias", count: hidden)
        up = try store.matrix(p + "ffn_up.weight", rows: intermediate, columns: hidden)
        upBias = try store.vector(p + "ffn_up.bias", count: intermediate)
        down = try store.matrix(p + "ffn_down.weight", rows: hidden, columns: intermediate)
        downBias = try store.vector(p + "ffn_down.bias", count: hidden)
        outputNormWeight = try store.vector(p + "layer_output_norm.weight", count: hidden)
        outputNormBias = try store.vector(p + "layer_output_norm.bias", count: hidden)
    }

    /// The weights the matmuls read.
    static var matmulWeights: [WritableKeyPath<BertLayer, WeightMatrix>] { [\.query, \.key, \.value, \.attentionOutput, \.up, \.down] }

    /// The layer with packed panels for every matmul weight the CPU has a packed kernel for.
    func packing(pool: ThreadPool, dtype: ComputeDType, arena: PackedArena) -> BertLayer {
        var layer = self
        for path in Self.matmulWeights {
            layer[keyPath: path] = layer[keyPath: path].packing(pool: pool, dtype: dtype, float32AsBFloat16ByDefault: true, arena: arena)
        }
        return layer
    }

    /// GGUF-style names → Hugging Face `BertModel` names (`prefix` is `bert.` in `BertForMaskedLM` and similar
    /// checkpoints, empty in sentence-transformers' folders).
    static func huggingFaceName(_ name: String, prefix: String) -> String {
        let fixed = ["token_embd.weight": "embeddings.word_embeddings.weight",
                     "position_embd.weight": "embeddings.position_embeddings.weight",
                     "token_types.weight": "embeddings.token_type_embeddings.weight",
                     "token_embd_norm.weight": "embeddings.LayerNorm.weight", "token_embd_norm.bias": "embeddings.LayerNorm.bias"]
        if let hit = fixed[name] { return prefix + hit }
        let parts = name.split(separator: ".")
        guard parts.count == 4, parts[0] == "blk" else { return name }
        let modules = ["attn_q": "attention.self.query", "attn_k": "attention.self.key", "attn_v": "attention.self.value",
                       "attn_output": "attention.output.dense", "attn_output_norm": "attention.output.LayerNorm",
                       "ffn_up": "intermediate.dense", "ffn_down": "output.dense", "layer_output_norm": "output.LayerNorm"]
        guard let module = modules[String(parts[2])] else { return name }
        return "\(prefix)encoder.layer.\(parts[1]).\(module).\(parts[3])"
    }
}
