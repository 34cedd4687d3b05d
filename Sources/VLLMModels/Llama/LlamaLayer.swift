import VLLMKernels
import VLLMModelFormats

/// The weights of one decoder layer (names as in GGUF-FACTS §4.1; shapes as rows × columns).
struct LlamaLayer {
    /// A dense gated MLP, or routed experts (Qwen2/3-MoE, Mixtral).
    enum FeedForward {
        case dense(GatedMLP)
        case experts(MixtureOfExperts)
    }

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
    var feedForward: FeedForward

    init(index i: Int, configuration c: ModelConfiguration, store: WeightStore) throws(ModelFormatError) {
        let p = "blk.\(i)."
        let qDim = c.headCount * c.headDim, kvDim = c.kvHeadCount * c.headDim
        attentionNorm = try store.vector(p + "attn_norm.weight", count: c.hiddenSize)
        // Phi-3 stores Q, K and V as one matrix, [q; k; v] by rows, in both formats: three views into it.
        // (Asked by architecture, not by `has`: a quantized checkpoint's fused matrix has no `.weight` tensor.)
        let fusedName = store.has(p + "attn_qkv.weight") ? p + "attn_qkv.weight" : "model.layers.\(i).self_attn.qkv_proj.weight"
        if store.has(p + "attn_qkv.weight") || (c.architecture == "phi3" && !store.has(p + "attn_q.weight")) {
            let qkv = try store.matrix(fusedName, rows: qDim + 2 * kvDim, columns: c.hiddenSize)
            query = qkv.rowSlice(0..<qDim)
            key = qkv.rowSlice(qDim..<(qDim + kvDim))
            value = qkv.rowSlice((qDim + kvDim)..<(qDim + 2 * kvDim))
        } else {
            query = try store.matrix(p + "attn_q.weight", rows: qDim, columns: c.hiddenSize)
            key = try store.matrix(p + "attn_k.weight", rows: kvDim, columns: c.hiddenSize)
            value = try store.matrix(p + "attn_v.weight", rows: kvDim, columns: c.hiddenSize)
        }
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
        if let experts = c.experts, !experts.denseLayers.contains(i) {
            feedForward = .experts(try MixtureOfExperts(index: i, configuration: c, experts: experts, store: store))
        } else if c.architecture == "phi3" {
            // Phi-3's gate and up projections are one matrix too: GGUF `ffn_up` of twice the width, HF `gate_up_proj`.
            let name = store.has(p + "ffn_up.weight") ? p + "ffn_up.weight" : "model.layers.\(i).mlp.gate_up_proj.weight"
            let gateUp = try store.matrix(name, rows: 2 * c.intermediateSize, columns: c.hiddenSize)
            let down = try store.matrix(p + "ffn_down.weight", rows: c.hiddenSize, columns: c.intermediateSize)
            feedForward = .dense(GatedMLP(fusedGateUp: gateUp, down: down))
        } else {
            feedForward = .dense(try GatedMLP(gate: p + "ffn_gate.weight", up: p + "ffn_up.weight", down: p + "ffn_down.weight",
                                              width: c.intermediateSize, hidden: c.hiddenSize, store: store))
        }
    }

    /// Every matrix the matmuls read.
    var matrices: [WeightMatrix] {
        let attention = [query, key, value, attentionOutput]
        switch feedForward {
        case .dense(let mlp): return attention + mlp.matrices
        case .experts(let moe): return attention + moe.matrices
        }
    }

    /// Whether every matmul weight has its packed panels.
    var isPacked: Bool { matrices.allSatisfy { $0.packed != nil } }

    /// The layer with packed panels for every matmul weight the CPU has a packed kernel for.
    func packing(pool: ThreadPool, dtype: ComputeDType, arena: PackedArena) -> LlamaLayer {
        var layer = self
        for path in [\LlamaLayer.query, \.key, \.value, \.attentionOutput] {
            layer[keyPath: path] = layer[keyPath: path].packing(pool: pool, dtype: dtype, arena: arena)
        }
        switch feedForward {
        case .dense(let mlp): layer.feedForward = .dense(mlp.packing(pool: pool, dtype: dtype, arena: arena))
        case .experts(let moe): layer.feedForward = .experts(moe.packing(pool: pool, dtype: dtype, arena: arena))
        }
        return layer
    }
}
