import CVLLMKernels

/// The element-wise, normalization, rotary, KV-cache and attention kernels the models and the engine call, as Swift
/// functions over raw rows: the one door to the C target besides `MatmulRunner` and `WeightMatrix` (models and
/// engine import no C module). Each dispatches on the CPU's features at run time, as the C functions do.
public enum Kernels {
    /// `y = x / rms(x) * w` over `n` values (ggml's `rms_norm` then the weight multiply).
    @inlinable public static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                                          count n: Int, eps: Float) {
        vk_rms_norm(x, weight, y, Int64(n), eps)
    }

    /// `x += y (+ bias)` when `y` is given, then `h = rmsNorm(x) * w`, in one pass with `rmsNorm`'s arithmetic.
    @inlinable public static func addRMSNorm(_ x: UnsafeMutablePointer<Float>, adding y: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                                             weight: UnsafePointer<Float>, into h: UnsafeMutablePointer<Float>, count n: Int, eps: Float) {
        vk_add_rms_norm(x, y, bias, weight, h, Int64(n), eps)
    }

    /// `out = silu(gate) * up`; `out` may be `gate`.
    @inlinable public static func siluMul(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count n: Int) {
        vk_silu_mul(gate, up, out, Int64(n))
    }

    /// `out = gelu(gate) * up` with ggml's CPU numerics (GELU's tanh form read from a table over f16 values, as
    /// llama.cpp computes GeGLU); `out` may be `gate`.
    @inlinable public static func geluMul(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count n: Int) {
        vk_gelu_mul(gate, up, out, Int64(n))
    }

    /// `y += x`.
    @inlinable public static func add(_ x: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, count n: Int) {
        vk_add(y, x, Int64(n))
    }

    /// `x += y (+ yBias)` when `y` is given, then LayerNorm in place: `x = (x - mean) / sqrt(var + eps) * w + b`
    /// (BERT's post-norms; torch's biased variance).
    @inlinable public static func addLayerNorm(_ x: UnsafeMutablePointer<Float>, adding y: UnsafePointer<Float>?, yBias: UnsafePointer<Float>?,
                                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, count n: Int, eps: Float) {
        vk_add_layer_norm(x, y, yBias, weight, bias, Int64(n), eps)
    }

    /// `out = x / 2 * (1 + erf(x / sqrt 2))`, the exact GELU; `out` may be `x`.
    @inlinable public static func geluErf(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count n: Int) {
        vk_gelu_erf(x, out, Int64(n))
    }

    /// Bidirectional attention of one head over one sequence of `count` rows (stride `stride` floats, the head's
    /// `headDim` values first in each row), for the queries `queries`: `out_i = softmax_j(scale q_i . k_j) v`.
    @inlinable public static func encoderAttention(query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>,
                                                   out: UnsafeMutablePointer<Float>, stride: Int, count: Int, headDim: Int, scale: Float,
                                                   queries: Range<Int>) {
        vk_encoder_attention(query, key, value, out, Int64(stride), Int64(count), Int64(headDim), scale,
                             Int64(queries.lowerBound), Int64(queries.upperBound))
    }

    /// `x *= s`.
    @inlinable public static func scale(_ x: UnsafeMutablePointer<Float>, by s: Float, count n: Int) {
        for i in 0..<n { x[i] *= s }
    }

    /// The cosine and sine tables of one position: angle of pair k = `position * inverseFrequencies[k]`, `half` pairs.
    @inlinable public static func ropeAngles(position: Int32, inverseFrequencies: UnsafePointer<Float>, half: Int,
                                             cosines: UnsafeMutablePointer<Float>, sines: UnsafeMutablePointer<Float>) {
        vk_rope_angles(position, inverseFrequencies, Int64(half), cosines, sines)
    }

    /// Rotates `heads` heads of `headDim` values in place with the tables of `ropeAngles`; `neox` pairs (i, i + half),
    /// otherwise adjacent pairs.
    @inlinable public static func ropeRotate(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int,
                                             cosines: UnsafePointer<Float>, sines: UnsafePointer<Float>, neox: Bool) {
        vk_rope_rotate(x, Int64(heads), Int64(headDim), Int64(headDim), cosines, sines, neox ? 1 : 0)
    }

    /// Writes one token's K and V rows (`rowElements` floats each) into cache slot `slot`, converted to the cache's type.
    @inlinable public static func kvWrite(keys: UnsafeMutableRawPointer, values: UnsafeMutableRawPointer, type: Int32, slot: Int,
                                          rowElements: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        vk_kv_write(keys, values, type, Int64(slot), Int64(rowElements), key, value)
    }

    /// Paged causal attention for `queries` query rows at `positions` over KV heads `kvHeads`, through `blockTable`.
    /// `window` > 0 limits a query at position p to keys `max(0, p - window + 1) ... p` (a sliding-window layer;
    /// earlier blocks are never read); 0 is full causal attention.
    @inlinable public static func pagedAttention(
        query: UnsafePointer<Float>, queryStride: Int, out: UnsafeMutablePointer<Float>, outStride: Int, queries: Int,
        positions: UnsafePointer<Int32>, keys: UnsafeRawPointer, values: UnsafeRawPointer, type: Int32,
        blockTable: UnsafePointer<Int32>, blockSize: Int, heads: Int, kvHeadCount: Int, headDim: Int, scale: Float,
        kvHeads: Range<Int>, window: Int = 0
    ) {
        vk_paged_attention(query, Int64(queryStride), out, Int64(outStride), Int64(queries), positions, keys, values, type,
                           blockTable, Int64(blockSize), Int64(heads), Int64(kvHeadCount), Int64(headDim), scale,
                           Int64(kvHeads.lowerBound), Int64(kvHeads.upperBound), Int64(window))
    }

    /// Index of the largest value (the first on ties).
    @inlinable public static func argmax(_ x: UnsafeBufferPointer<Float>) -> Int {
        guard let base = x.baseAddress, !x.isEmpty else { return 0 }
        return Int(vk_argmax(base, Int64(x.count)))
    }

    /// `out = exp((x - shift) * scale)`, returning the sum; `out` may be `x`.
    @inlinable public static func expScaled(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count n: Int,
                                            shift: Float, scale: Float) -> Double {
        vk_exp_scaled(x, out, Int64(n), shift, scale)
    }

    /// Dequantizes one row of `n` elements of ggml type `type` to f32.
    @inlinable public static func dequantizeRow(type: Int32, _ source: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>, count n: Int) {
        vk_dequantize_row(type, source, out, Int64(n))
    }

    /// Elements per block of ggml type `type` (0 when the kernels do not know it).
    @inlinable public static func blockSize(ofType type: Int32) -> Int { Int(vk_type_block_size(type)) }

    /// Bytes `columns` elements of `type` take in a row (`columns` a multiple of its block size).
    @inlinable public static func rowBytes(ofType type: Int32, columns: Int) -> Int { Int(vk_row_bytes(type, Int64(columns))) }

    /// The activation format the matmul of weight type `type` consumes, or nil when it has no dot product.
    @inlinable public static func activationType(forWeightType type: Int32) -> Int32? {
        let a = vk_activation_type(type)
        return a >= 0 ? a : nil
    }

    /// ggml type ids of the KV cache's element types.
    public static let f32TypeID = Int32(VK_F32), f16TypeID = Int32(VK_F16)
}
