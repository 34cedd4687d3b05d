import VLLMKernels
import VLLMModelFormats

extension LlamaLayer {
    /// This rank's part of the layer: rows of Q, K and V (and their biases) for its heads, the attention output's
    /// columns for them, gate and up rows and down columns for the intermediate features `width`. Column cuts are
    /// copies, appended to `copies` (the model frees them once packed). Called before packing.
    func sharded(_ shard: TensorParallelShard, index: Int, configuration c: ModelConfiguration, width: Range<Int>,
                 copies: inout [ColumnSlice]) throws(ModelFormatError) -> LlamaLayer {
        guard case .dense(let mlp) = feedForward else {
            throw ModelFormatError("layer \(index) is a mixture of experts: tensor parallelism splits dense layers only")
        }
        var layer = self
        let heads = shard.heads(c), d = c.headDim
        let q = (heads.query.lowerBound * d)..<(heads.query.upperBound * d)
        let kv = (heads.kv.lowerBound * d)..<(heads.kv.upperBound * d)
        layer.query = query.rowSlice(q)
        layer.key = key.rowSlice(kv)
        layer.value = value.rowSlice(kv)
        layer.queryBias = queryBias.map { Array($0[q]) }
        layer.keyBias = keyBias.map { Array($0[kv]) }
        layer.valueBias = valueBias.map { Array($0[kv]) }
        let output = try ColumnSlice(attentionOutput, columns: q, name: "blk.\(index).attn_output.weight")
        let down = try ColumnSlice(mlp.down, columns: width, name: "blk.\(index).ffn_down.weight")
        copies += [output, down]
        layer.attentionOutput = output.matrix
        layer.feedForward = .dense(GatedMLP(gate: mlp.gate.rowSlice(width), up: mlp.up.rowSlice(width), down: down.matrix))
        return layer
    }

    /// The block size every layer's down projection can be cut at (the least common multiple of their types' blocks).
    static func intermediateUnit(_ layers: [LlamaLayer]) -> Int {
        layers.reduce(1) { unit, layer in
            guard case .dense(let mlp) = layer.feedForward else { return unit }
            let block = Kernels.blockSize(ofType: mlp.down.typeID)
            var (a, b) = (unit, block)
            while b != 0 { (a, b) = (b, a % b) }
            return unit / a * block
        }
    }
}
