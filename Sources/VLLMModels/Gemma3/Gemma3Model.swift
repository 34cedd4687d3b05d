import Foundation
import VLLMKernels
import VLLMModelFormats

/// Gemma 3's decoder (text) over a flattened batch and a paged KV cache. Port of llama.cpp's
/// `src/models/gemma3.cpp` graph: embeddings scaled by sqrt(hidden); per layer an RMS norm, attention with
/// per-head RMS norms on q and k, NEOX RoPE with the layer's base (local or global), q scaled by
/// `attentionScale`, over the layer's sliding window (local layers) or every earlier position (global layers);
/// an RMS norm on the attention output before the residual add; the same around a GeGLU MLP (GELU's tanh form,
/// as ggml computes it: `Kernels.geluMul`); a final norm and the tied (or separate) output matrix, soft-capped
/// when the file says so.
///
/// Not thread-safe: one owner (the engine loop) calls `forward`, which uses the model's thread pool.
public final class Gemma3Model: LanguageModel, @unchecked Sendable {
    public let configuration: ModelConfiguration
    public let weightTypeDescription: String
    let parameters: Gemma3Parameters
    let embedding: WeightMatrix       // [vocab, hidden]
    let output: WeightMatrix          // [vocab, hidden] (the embedding when tied)
    let outputNorm: [Float]           // [hidden]
    let layers: [Gemma3Layer]
    /// Keeps the memory maps the weight matrices point into alive.
    private let storage: [AnyObject]
    let runner: MatmulRunner
    let scratch = ForwardScratch()
    let localRopeCos = AlignedBuffer<Float>()  // [tokens, headDim / 2] the local layers' tables (scratch.ropeCos: global)
    let localRopeSin = AlignedBuffer<Float>()  // [tokens, headDim / 2]
    public var profiler: Profiler?

    /// `normShift`: what to add to every stored norm weight (1 for Hugging Face checkpoints, whose `Gemma3RMSNorm`
    /// multiplies by `1 + weight`; 0 for GGUF files, where the converter added it).
    init(configuration: ModelConfiguration, parameters: Gemma3Parameters, store: WeightStore, storage: [AnyObject],
         pool: ThreadPool, dtype: ComputeDType, normShift: Float) throws(ModelFormatError) {
        let c = configuration
        self.configuration = c
        self.parameters = parameters
        let embedding = try store.matrix("token_embd.weight", rows: c.vocabularySize, columns: c.hiddenSize)
        // As LlamaModel: a tied embedding is gathered from the output's packed panels.
        let tied = !store.has("output.weight")
        let arena = PackedArena()
        output = (tied ? embedding : try store.matrix("output.weight", rows: c.vocabularySize, columns: c.hiddenSize))
            .packing(pool: pool, dtype: dtype, arena: arena)
        self.embedding = tied ? output : embedding
        outputNorm = try store.vector("output_norm.weight", count: c.hiddenSize).map { $0 + normShift }
        var layers: [Gemma3Layer] = []
        for i in 0..<c.layerCount {
            layers.append(try Gemma3Layer(index: i, configuration: c, window: parameters.layerWindows[i], store: store, normShift: normShift)
                .packing(pool: pool, dtype: dtype, arena: arena))
        }
        self.layers = layers
        try store.checkAllUsed()
        self.storage = storage
        if output.packed != nil && layers.allSatisfy(\.isPacked) {
            for case let file as GGUFFile in storage { file.file.releaseResidentPages() }
            for case let file as SafetensorsFile in storage { file.file.releaseResidentPages() }
        }
        arena.promoteToHugePagesInBackground()  // packed on 4 KiB pages: the load does not wait for huge pages
        runner = MatmulRunner(pool: pool)
        let types = Set(([embedding, output] + layers.flatMap { [$0.query, $0.gate, $0.down] }).map(\.typeID))
        weightTypeDescription = types.sorted().compactMap { TensorType(rawValue: $0)?.name }.joined(separator: "+")
    }

    public var threadPool: ThreadPool { runner.pool }

    /// The local layers' window (a query at p sees p - window + 1 ... p), nil for the global layers: the KV cache
    /// groups them apart and drops blocks before the window (`KVCacheLayout`); attention never reads those.
    public var slidingWindows: [Int?] { parameters.layerWindows.map { $0 > 0 ? $0 : nil } }

    public var packedWeightBytes: Int {
        let matrices = [output] + layers.flatMap { layer in Gemma3Layer.matmulWeights.map { layer[keyPath: $0] } }
        return matrices.reduce(0) { $0 + ($1.packed?.byteCount ?? 0) }
    }

    /// Runs the batch in parts of at most `LlamaModel.microBatchTokens` tokens and returns the logits (or
    /// final-normed hidden states) of `batch.logitIndices` in that order, valid until the next call.
    public func forward(_ batch: ForwardBatch, cache: PagedKVCache) -> UnsafeBufferPointer<Float> {
        let c = configuration
        let hidden = c.hiddenSize
        let rows = batch.logitIndices
        let final = scratch.finalHidden.reserve(max(1, rows.count) * hidden)
        batch.finalHiddenStates(maxTokens: LlamaModel.microBatchTokens, hidden: hidden, normWeight: outputNorm, eps: c.rmsNormEps, into: final) { part, partRows in
            hiddenStates(part, outputRows: partRows, cache: cache)
        }
        if batch.output == .hiddenStates { return UnsafeBufferPointer(start: final, count: rows.count * hidden) }
        let logits = scratch.logits.reserve(max(1, rows.count) * output.rows)
        runner.run(input: final, inputStride: hidden, tokens: rows.count, jobs: [MatmulJob(matrix: output, output: logits)])
        if let cap = parameters.finalLogitSoftcap {
            let vocab = output.rows
            threadPool.forEachItem(rows.count, perTask: 1, serialBelow: 2) { r in
                let row = logits + r * vocab
                for i in 0..<vocab { row[i] = cap * tanhf(row[i] / cap) }
            }
        }
        profiler?.lap("logits (norm + matmul)")
        return UnsafeBufferPointer(start: logits, count: rows.count * output.rows)
    }

    /// Embeds the batch's tokens and runs every layer (writing their K/V into `cache`); returns the residual stream
    /// of `outputRows` (sorted token indices), `[outputRows.count, hidden]`, valid until the next call. As in
    /// LlamaModel, the last layer runs attention onward only for those rows.
    private func hiddenStates(_ batch: ForwardBatch, outputRows: [Int], cache: PagedKVCache) -> UnsafeMutablePointer<Float> {
        let c = configuration
        var count = batch.tokens.count, batch = batch
        let hidden = c.hiddenSize, qDim = c.headCount * c.headDim, kvDim = c.kvHeadCount * c.headDim
        let s = scratch
        let x = s.residual.reserve(count * hidden), h = s.normed.reserve(count * hidden)
        let q = s.query.reserve(count * qDim), k = s.key.reserve(count * kvDim), v = s.value.reserve(count * kvDim)
        let attention = s.attention.reserve(count * qDim), projected = s.projected.reserve(count * hidden)
        let gate = s.gate.reserve(count * c.intermediateSize), up = s.up.reserve(count * c.intermediateSize)
        // slots: [groups, tokens], each new token's slot in every KV cache group's blocks.
        let groups = cache.layout.groups.count, tokens = count
        let positions = s.positions.reserve(count), slots = s.slots.reserve(groups * count)
        PagedAttentionSteps.placeTokens(batch, cache: cache, positions: positions, slots: slots)
        let half = c.headDim / 2
        let globalCos = s.ropeCos.reserve(count * half), globalSin = s.ropeSin.reserve(count * half)
        let localCos = localRopeCos.reserve(count * half), localSin = localRopeSin.reserve(count * half)
        for (inv, cs, sn) in [(parameters.globalInverseFrequencies, globalCos, globalSin), (parameters.localInverseFrequencies, localCos, localSin)] {
            inv.withUnsafeBufferPointer { inv in
                for t in 0..<count {
                    Kernels.ropeAngles(position: positions[t], inverseFrequencies: inv.baseAddress!, half: half, cosines: cs + t * half, sines: sn + t * half)
                }
            }
        }
        batch.tokens.withUnsafeBufferPointer { embedding.gatherRows($0.baseAddress!, count: count, into: x) }
        let embeddingScale = parameters.embeddingScale
        threadPool.forEachItem(count) { t in Kernels.scale(x + t * hidden, by: embeddingScale, count: hidden) }
        let p = profiler
        p?.lap("embedding")

        for (index, layer) in layers.enumerated() {
            // The previous layer's MLP output is post-normed and added to x here, then x is normed for attention.
            let previousPostNorm = index > 0 ? layers[index - 1].postFeedForwardNorm : nil
            runner.run(input: h, inputStride: hidden, tokens: count, jobs: [
                MatmulJob(matrix: layer.query, output: q), MatmulJob(matrix: layer.key, output: k),
                MatmulJob(matrix: layer.value, output: v),
            ], prepare: residualNormalizer(x, into: h, adding: previousPostNorm.map { (projected, $0) }, weight: layer.attentionNorm))
            p?.lap("norm + matmul qkv")
            let (keyCache, valueCache, group) = cache.layer(index)
            let groupSlots = slots + group * tokens
            let (cosines, sines) = layer.window > 0 ? (localCos, localSin) : (globalCos, globalSin)
            layer.queryNorm.withUnsafeBufferPointer { qn in layer.keyNorm.withUnsafeBufferPointer { kn in
                threadPool.forEachItem(count) { t in
                    let qt = q + t * qDim, kt = k + t * kvDim, vt = v + t * kvDim
                    for head in 0..<c.headCount { Kernels.rmsNorm(qt + head * c.headDim, weight: qn.baseAddress!, into: qt + head * c.headDim, count: c.headDim, eps: c.rmsNormEps) }
                    for head in 0..<c.kvHeadCount { Kernels.rmsNorm(kt + head * c.headDim, weight: kn.baseAddress!, into: kt + head * c.headDim, count: c.headDim, eps: c.rmsNormEps) }
                    let cs = cosines + t * half, sn = sines + t * half
                    Kernels.ropeRotate(qt, heads: c.headCount, headDim: c.headDim, cosines: cs, sines: sn, neox: true)
                    Kernels.ropeRotate(kt, heads: c.kvHeadCount, headDim: c.headDim, cosines: cs, sines: sn, neox: true)
                    Kernels.kvWrite(keys: keyCache, values: valueCache, type: cache.type.typeID, slot: groupSlots[t], rowElements: kvDim, key: kt, value: vt)
                }
            } }
            p?.lap("qk norm + rope + kv write")
            if index == layers.count - 1 && outputRows.count < count {
                batch = PagedAttentionSteps.compact(batch, rows: outputRows, rowWidths: [(x, hidden), (q, qDim)], positions: positions)
                count = outputRows.count
            }
            PagedAttentionSteps.attend(batch, configuration: c, q: q, out: attention, positions: positions, keyCache: keyCache,
                                   valueCache: valueCache, cache: cache, group: group, scale: parameters.attentionScale, window: layer.window,
                                   pool: threadPool)
            p?.lap("attention")
            runner.run(input: attention, inputStride: qDim, tokens: count, jobs: [MatmulJob(matrix: layer.attentionOutput, output: projected)])
            p?.lap("matmul attn output")
            runner.run(input: h, inputStride: hidden, tokens: count, jobs: [
                MatmulJob(matrix: layer.gate, output: gate), MatmulJob(matrix: layer.up, output: up),
            ], prepare: residualNormalizer(x, into: h, adding: (projected, layer.postAttentionNorm), weight: layer.feedForwardNorm))
            p?.lap("norm + matmul gate + up")
            let width = c.intermediateSize
            runner.run(input: gate, inputStride: width, tokens: count, jobs: [MatmulJob(matrix: layer.down, output: projected)]) { t in
                Kernels.geluMul(gate + t * width, up + t * width, into: gate + t * width, count: width)
            }
            p?.lap("gelu + matmul down")
            if index == layers.count - 1 {
                let post = layer.postFeedForwardNorm, eps = c.rmsNormEps
                post.withUnsafeBufferPointer { w in
                    threadPool.forEachItem(count) { t in
                        Kernels.rmsNorm(projected + t * hidden, weight: w.baseAddress!, into: projected + t * hidden, count: hidden, eps: eps)
                        Kernels.add(projected + t * hidden, to: x + t * hidden, count: hidden)
                    }
                }
                p?.lap("post norm + residual add")
            }
        }
        return x
    }

    /// The `prepare` step of a matmul reading h: when `adding` is given, its rows are RMS-normed in place by its
    /// weight (Gemma's post-norm) and added to x; then x is RMS-normed by `weight` into h. Both weights are copied to
    /// scratch first, so the step, run per token on every thread, reads no Swift array.
    private func residualNormalizer(_ x: UnsafeMutablePointer<Float>, into h: UnsafeMutablePointer<Float>,
                                    adding: (rows: UnsafeMutablePointer<Float>, postNorm: [Float])?, weight: [Float]) -> (Int) -> Void {
        let hidden = configuration.hiddenSize, eps = configuration.rmsNormEps
        let vectors = scratch.normVectors.reserve(2 * hidden)
        vectors.update(from: weight, count: hidden)
        guard let adding else {
            return { t in Kernels.addRMSNorm(x + t * hidden, adding: nil, bias: nil, weight: vectors, into: h + t * hidden, count: hidden, eps: eps) }
        }
        let post = vectors + hidden, rows = adding.rows
        post.update(from: adding.postNorm, count: hidden)
        return { t in
            Kernels.rmsNorm(rows + t * hidden, weight: post, into: rows + t * hidden, count: hidden, eps: eps)
            Kernels.addRMSNorm(x + t * hidden, adding: rows + t * hidden, bias: nil, weight: vectors, into: h + t * hidden, count: hidden, eps: eps)
        }
    }
}
