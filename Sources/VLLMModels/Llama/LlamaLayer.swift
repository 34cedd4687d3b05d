import VLLMKernels
import VLLMModelFormats

/// The weights of one decoder layer (names as in GGUF-FACTS §4.1; shapes as rows × columns).
struct LlamaLayer {
    var attentionNorm: [Float]          // [hidden]
    var query: WeightMatrix             // [heads * headDim, hidden]
    var key: WeightMatrix               // [kvHeads * headDim, hidden]
    var value: WeightMatrix             // [kvHeads * headDim, hidden]
    var queryBias: [Float]?             // [heads * headDim] (Qwen2)
    var keyBias: [Float]?               // [kvHeads * headDim]
    var valueBias: [Float]?             // [kvHeads * headDim]
    var queryNorm: [Float]?             // [headDim] (Qwen3)
    var keyNorm: [Float]?               // [headDim]
    var attentionOutput: WeightMatrix   // [hidden, heads * headDim]
    var attentionOutputBias: [Float]?   // [hidden]
    var feedForwardNorm: [Float]        // [hidden]
    var gate: WeightMatrix              // [intermediate, hidden]
    var up: WeightMatrix                // [intermediate, hidden]
    var down: WeightMatrix              // [hidden, intermediate]

    init(index i: Int, configuration c: ModelConfiguration, store: WeightStore) throws(ModelFormatError) {
        let p = "blk.\(i)."
        let qDim = c.headCount * c.headDim, kvDim = c.kvHeadCount * c.headDim
        attentionNorm = try store.vector(p + "attn_norm.weight", count: c.hiddenSize)
        query = try store.matrix(p + "attn_q.weight", rows: qDim, columns: c.hiddenSize)
        key = try store.matrix(p + "attn_k.weight", rows: kvDim, columns: c.hiddenSize)
        value = try store.matrix(p + "attn_v.weight", rows: kvDim, columns: c.hiddenSize)
        queryBias = try store.optionalVector(p + "attn_q.bias", count: qDim)
        keyBias = try store.optionalVector(p + "attn_k.bias", count: kvDim)
        valueBias = try store.optionalVector(p + "attn_v.bias", count: kvDim)
        if c.hasQKNorm {
            queryNorm = try store.vector(p + "attn_q_norm.weight", count: c.headDim)
            keyNorm = try store.vector(p + "attn_k_norm.weight", count: c.headDim)
        }
        attentionOutput = try store.matrix(p + "attn_output.weight", rows: c.hiddenSize, columns: qDim)
        attentionOutputBias = try store.optionalVector(p + "attn_output.bias", count: c.hiddenSize)
        feedForwardNorm = try store.vector(p + "ffn_norm.weight", count: c.hiddenSize)
        gate = try store.matrix(p + "ffn_gate.weight", rows: c.intermediateSize, columns: c.hiddenSize)
        up = try store.matrix(p + "ffn_up.weight", rows: c.intermediateSize, columns: c.hiddenSize)
        down = try store.matrix(p + "ffn_down.weight", rows: c.hiddenSize, columns: c.intermediateSize)
    }

    /// The weights the matmuls read.
    static var matmulWeights: [WritableKeyPath<LlamaLayer, WeightMatrix>] { [\.query, \.key, \.value, \.attentionOutput, \.gate, \.up, \.down] }

    /// Whether every matmul weight has its packed panels.
    var isPacked: Bool { Self.matmulWeights.allSatisfy { self[keyPath: $0].packed != nil } }

    /// The layer with packed panels for every matmul weight the CPU has a packed kernel for.
    func packing(pool: ThreadPool, dtype: ComputeDType, arena: PackedArena) -> LlamaLayer {
        var layer = self
        for path in Self.matmulWeights {
            layer[keyPath: path] = layer[keyPath: path].packing(pool: pool, bfloat16Products: dtype.bfloat16Products, arena: arena)
        }
        return layer
    }
}
