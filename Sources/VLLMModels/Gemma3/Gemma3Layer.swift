import VLLMKernels
import VLLMModelFormats

/// The weights of one Gemma 3 decoder layer (GGUF names as llama.cpp's `llama-arch.cpp` gives them; shapes as
/// rows × columns). Every norm weight already includes Gemma's `1 +`: llama.cpp's converter adds 1 to every
/// `*norm.weight` (`conversion/gemma.py`, `norm_shift`); Hugging Face checkpoints store the weight alone, and
/// `normShift` 1 adds it at load.
struct Gemma3Layer {
    var attentionNorm: [Float]          // [hidden]          attn_norm: before attention
    var query: WeightMatrix             // [heads * headDim, hidden]
    var key: WeightMatrix               // [kvHeads * headDim, hidden]
    var value: WeightMatrix             // [kvHeads * headDim, hidden]
    var queryNorm: [Float]              // [headDim]         per head of q, before RoPE
    var keyNorm: [Float]                // [headDim]         per head of k, before RoPE
    var attentionOutput: WeightMatrix   // [hidden, heads * headDim]
    var postAttentionNorm: [Float]      // [hidden]          on the attention output, before the residual add
    var feedForwardNorm: [Float]        // [hidden]          ffn_norm: before the MLP
    var gate: WeightMatrix              // [intermediate, hidden]
    var up: WeightMatrix                // [intermediate, hidden]
    var down: WeightMatrix              // [hidden, intermediate]
    var postFeedForwardNorm: [Float]    // [hidden]          on the MLP output, before the residual add
    /// Keys a query of this layer sees (0: all earlier positions).
    var window: Int

    init(index i: Int, configuration c: ModelConfiguration, window: Int, store: WeightStore, normShift: Float) throws(ModelFormatError) {
        let p = "blk.\(i)."
        let qDim = c.headCount * c.headDim, kvDim = c.kvHeadCount * c.headDim
        func norm(_ name: String, _ count: Int) throws(ModelFormatError) -> [Float] {
            try store.vector(p + name, count: count).map { $0 + normShift }
        }
        attentionNorm = try norm("attn_norm.weight", c.hiddenSize)
        query = try store.matrix(p + "attn_q.weight", rows: qDim, columns: c.hiddenSize)
        key = try store.matrix(p + "attn_k.weight", rows: kvDim, columns: c.hiddenSize)
        value = try store.matrix(p + "attn_v.weight", rows: kvDim, columns: c.hiddenSize)
        queryNorm = try norm("attn_q_norm.weight", c.headDim)
        keyNorm = try norm("attn_k_norm.weight", c.headDim)
        attentionOutput = try store.matrix(p + "attn_output.weight", rows: c.hiddenSize, columns: qDim)
        postAttentionNorm = try norm("post_attention_norm.weight", c.hiddenSize)
        feedForwardNorm = try norm("ffn_norm.weight", c.hiddenSize)
        gate = try store.matrix(p + "ffn_gate.weight", rows: c.intermediateSize, columns: c.hiddenSize)
        up = try store.matrix(p + "ffn_up.weight", rows: c.intermediateSize, columns: c.hiddenSize)
        down = try store.matrix(p + "ffn_down.weight", rows: c.hiddenSize, columns: c.intermediateSize)
        postFeedForwardNorm = try norm("post_ffw_norm.weight", c.hiddenSize)
        self.window = window
    }

    /// The weights the matmuls read.
    static var matmulWeights: [WritableKeyPath<Gemma3Layer, WeightMatrix>] { [\.query, \.key, \.value, \.attentionOutput, \.gate, \.up, \.down] }

    /// Whether every matmul weight has its packed panels.
    var isPacked: Bool { Self.matmulWeights.allSatisfy { self[keyPath: $0].packed != nil } }

    /// The layer with packed panels for every matmul weight the CPU has a packed kernel for.
    func packing(pool: ThreadPool, dtype: ComputeDType, arena: PackedArena) -> Gemma3Layer {
        var layer = self
        for path in Self.matmulWeights {
            layer[keyPath: path] = layer[keyPath: path].packing(pool: pool, dtype: dtype, arena: arena)
        }
        return layer
    }
}
