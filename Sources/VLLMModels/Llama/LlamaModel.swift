import VLLMKernels
import VLLMModelFormats

/// A Llama-family decoder (Llama 2/3, SmolLM2, Mistral, Qwen2, Qwen3; Phi-3 with its fused projections; Qwen2-MoE,
/// Qwen3-MoE and Mixtral with mixture-of-experts feed-forward layers) computing logits for a flattened batch over a
/// paged KV cache. Port of llama.cpp's `src/models/llama.cpp` graph (GGUF-FACTS §4.3).
///
/// Not thread-safe: one owner (the engine loop) calls `forward`, which uses the model's thread pool.
public final class LlamaModel: LanguageModel, @unchecked Sendable {
    public private(set) var configuration: ModelConfiguration
    /// How the weights are stored, for logs (e.g. "Q4_1", "BF16").
    public let weightTypeDescription: String
    let embedding: WeightMatrix       // [vocab, hidden]
    let output: WeightMatrix          // [vocab, hidden] (the embedding when tied)
    let outputNorm: [Float]           // [hidden]
    let layers: [LlamaLayer]
    /// Keeps the memory maps the weight matrices point into alive.
    private let storage: [AnyObject]
    let runner: MatmulRunner
    let scratch = ForwardScratch()
    let expertScratch = ExpertScratch()
    /// When set, `forward` charges each phase's wall time to it (the caller has called `start()`).
    public var profiler: Profiler?
    /// The part of the model this process computes (`.whole` but under tensor parallelism).
    let shard: TensorParallelShard

    public func fitContext(_ length: Int) { configuration.fitContext(length) }

    /// Every layer slides over the same window, or none does.
    public var slidingWindows: [Int?] { [Int?](repeating: configuration.slidingWindow, count: configuration.layerCount) }

    /// - Parameter shard: the part this process computes under tensor parallelism (`TensorParallelShard`): its
    ///   configuration then counts this rank's heads and intermediate features.
    init(configuration: ModelConfiguration, store: WeightStore, storage: [AnyObject], pool: ThreadPool,
         dtype: ComputeDType, shard: TensorParallelShard = .whole) throws(ModelFormatError) {
        let c = configuration
        try shard.check(c, file: store.description)
        let embedding = try store.matrix("token_embd.weight", rows: c.vocabularySize, columns: c.hiddenSize)
        // Matmul weights get their packed panels here. An untied embedding is only gathered by row, from the map;
        // a tied one is gathered from the output's panels, so the file's pages are not faulted back row by row
        // (a page fault per prompt token cost 3-10 ms of a 400-token prefill on this VM).
        let tied = !store.has("output.weight")
        let arena = PackedArena()  // every packed copy of the model in shared chunks
        let output = tied ? embedding : try store.matrix("output.weight", rows: c.vocabularySize, columns: c.hiddenSize)
        // Under tensor parallelism each rank packs only its run of the vocabulary's rows, and gathers embedding rows
        // from the map.
        self.output = (shard.size > 1 ? output.rowSlice(shard.vocabularyRange(c.vocabularySize)) : output)
            .packing(pool: pool, dtype: dtype, arena: arena)
        self.embedding = tied && shard.size == 1 ? self.output : embedding
        outputNorm = try store.vector("output_norm.weight", count: c.hiddenSize)
        var layers: [LlamaLayer] = []
        for i in 0..<c.layerCount { layers.append(try LlamaLayer(index: i, configuration: c, store: store)) }
        var copies: [ColumnSlice] = []
        if shard.size > 1 {
            let unit = LlamaLayer.intermediateUnit(layers)
            guard c.intermediateSize / unit >= shard.size else {
                throw ModelFormatError("'\(store.description)': \(c.intermediateSize) intermediate features in blocks of \(unit) cannot be split over \(shard.size) ranks")
            }
            let width = shard.range(of: c.intermediateSize, unit: unit)
            for i in layers.indices { layers[i] = try layers[i].sharded(shard, index: i, configuration: c, width: width, copies: &copies) }
            self.configuration = shard.configuration(c, intermediate: width.count)
        } else {
            self.configuration = c
        }
        self.layers = layers.map { $0.packing(pool: pool, dtype: dtype, arena: arena) }
        self.shard = shard
        // Phi-3 128k GGUFs carry LongRoPE's factors as tensors; the configuration read the short ones, and the long
        // ones are for contexts beyond the original, which the configuration's context stops at.
        for name in ["rope_factors_short.weight", "rope_factors_long.weight"] { _ = try store.optionalVector(name, count: c.headDim / 2) }
        try store.checkAllUsed()
        // With every matmul packed, the mapped files are read again only for untied embedding rows (faulted back one
        // by one), and the column copies of a tensor-parallel shard are dead.
        let allPacked = self.output.packed != nil && self.layers.allSatisfy(\.isPacked)
        self.storage = storage + store.converted + (allPacked ? [] : copies)
        if allPacked {
            for case let file as GGUFFile in storage { file.file.releaseResidentPages() }
            for case let file as SafetensorsFile in storage { file.file.releaseResidentPages() }
        }
        arena.promoteToHugePagesInBackground()  // packed on 4 KiB pages: the load does not wait for huge pages
        runner = MatmulRunner(pool: pool)
        let types = Set(([embedding, output] + self.layers.flatMap(\.matrices)).map(\.typeID))
        weightTypeDescription = types.sorted().compactMap { TensorType(rawValue: $0)?.name }.joined(separator: "+")
    }

    public var threadPool: ThreadPool { runner.pool }

    /// Bytes of the packed weight copies the matmuls read (the mapped files stay mapped for embedding rows).
    public var packedWeightBytes: Int {
        let matrices = [output] + layers.flatMap(\.matrices)
        return matrices.reduce(0) { $0 + ($1.packed?.byteCount ?? 0) }
    }

    /// Tokens one pass through the layers takes at most: larger batches run as consecutive parts, so the
    /// activation buffers stay at 512 tokens (13 MB for SmolLM2 instead of 52 MB at vLLM's 2048-token budget).
    /// Each token's result is the same either way: a later part attends to the K/V an earlier one wrote.
    public static let microBatchTokens = 512

    /// Runs the batch and returns the logits (or final-normed hidden states) of `batch.logitIndices` in that order,
    /// valid until the next call.
    public func forward(_ batch: ForwardBatch, cache: PagedKVCache) -> UnsafeBufferPointer<Float> {
        let c = configuration
        let hidden = c.hiddenSize
        let rows = batch.logitIndices
        let final = scratch.finalHidden.reserve(max(1, rows.count) * hidden)
        batch.finalHiddenStates(maxTokens: Self.microBatchTokens, hidden: hidden, normWeight: outputNorm, eps: c.rmsNormEps, into: final) { part, partRows in
            hiddenStates(part, outputRows: partRows, cache: cache)
        }
        if batch.output == .hiddenStates { return UnsafeBufferPointer(start: final, count: rows.count * hidden) }
        let logits = scratch.logits.reserve(max(1, rows.count) * output.rows)
        runner.run(input: final, inputStride: hidden, tokens: rows.count, jobs: [MatmulJob(matrix: output, output: logits)])
        profiler?.lap("logits (norm + matmul)")
        guard shard.size > 1 else { return UnsafeBufferPointer(start: logits, count: rows.count * output.rows) }
        do {
            let full = try shard.gatherLogits(logits, rows: rows.count, vocabulary: c.vocabularySize, parts: scratch.gatheredLogits,
                                              full: scratch.fullLogits)
            profiler?.lap("gather logits")
            return UnsafeBufferPointer(start: full ?? logits, count: full == nil ? 0 : rows.count * c.vocabularySize)
        } catch {
            TensorParallelFailure.exit(error)
        }
    }

    /// Embeds the batch's tokens and runs every layer over them (writing their K/V into `cache`); returns the
    /// residual stream of `outputRows` (sorted token indices), `[outputRows.count, hidden]`, valid until the next
    /// call. The last layer writes every token's K/V but runs attention onward only for those rows, as llama.cpp
    /// does: no other token's state is read again, and each row's values are the same as in the full batch.
    private func hiddenStates(_ batch: ForwardBatch, outputRows: [Int], cache: PagedKVCache) -> UnsafeMutablePointer<Float> {
        let c = configuration
        var count = batch.tokens.count, batch = batch
        let hidden = c.hiddenSize, qDim = c.headCount * c.headDim, kvDim = c.kvHeadCount * c.headDim
        let s = scratch
        let x = s.residual.reserve(count * hidden), h = s.normed.reserve(count * hidden)
        let q = s.query.reserve(count * qDim), k = s.key.reserve(count * kvDim), v = s.value.reserve(count * kvDim)
        let attention = s.attention.reserve(count * qDim), projected = s.projected.reserve(count * hidden)
        let gate = s.gate.reserve(count * c.intermediateSize), up = s.up.reserve(count * c.intermediateSize)
        let positions = s.positions.reserve(count), slots = s.slots.reserve(cache.layout.groups.count * count)
        PagedAttentionSteps.placeTokens(batch, cache: cache, positions: positions, slots: slots)
        let half = c.headDim / 2
        let cosines = s.ropeCos.reserve(count * half), sines = s.ropeSin.reserve(count * half)
        c.ropeInverseFrequencies.withUnsafeBufferPointer { inv in
            for t in 0..<count {
                Kernels.ropeAngles(position: positions[t], inverseFrequencies: inv.baseAddress!, half: half, cosines: cosines + t * half, sines: sines + t * half)
                if c.ropeAttentionFactor != 1 {  // LongRoPE: q and k both scaled
                    Kernels.scale(cosines + t * half, by: c.ropeAttentionFactor, count: half)
                    Kernels.scale(sines + t * half, by: c.ropeAttentionFactor, count: half)
                }
            }
        }
        batch.tokens.withUnsafeBufferPointer { embedding.gatherRows($0.baseAddress!, count: count, into: x) }
        let p = profiler
        p?.lap("embedding")

        for (index, layer) in layers.enumerated() {
            runner.run(input: h, inputStride: hidden, tokens: count, jobs: [
                MatmulJob(matrix: layer.query, output: q), MatmulJob(matrix: layer.key, output: k),
                MatmulJob(matrix: layer.value, output: v),
            ], prepare: normalizer(x, into: h, weight: layer.attentionNorm, adding: index > 0 ? projected : nil, bias: nil))
            p?.lap("norm + matmul qkv")
            let (keyCache, valueCache, _) = cache.layer(index)  // one group: every layer attends alike
            threadPool.forEachItem(count) { t in
                let qt = q + t * qDim, kt = k + t * kvDim, vt = v + t * kvDim
                if let b = layer.queryBias { add(b, to: qt) }
                if let b = layer.keyBias { add(b, to: kt) }
                if let b = layer.valueBias { add(b, to: vt) }
                if let qn = layer.queryNorm, let kn = layer.keyNorm {
                    for head in 0..<c.headCount { Kernels.rmsNorm(qt + head * c.headDim, weight: qn, into: qt + head * c.headDim, count: c.headDim, eps: c.rmsNormEps) }
                    for head in 0..<c.kvHeadCount { Kernels.rmsNorm(kt + head * c.headDim, weight: kn, into: kt + head * c.headDim, count: c.headDim, eps: c.rmsNormEps) }
                }
                let cs = cosines + t * half, sn = sines + t * half
                Kernels.ropeRotate(qt, heads: c.headCount, headDim: c.headDim, cosines: cs, sines: sn, neox: c.ropeNeoxStyle)
                Kernels.ropeRotate(kt, heads: c.kvHeadCount, headDim: c.headDim, cosines: cs, sines: sn, neox: c.ropeNeoxStyle)
                Kernels.kvWrite(keys: keyCache, values: valueCache, type: cache.type.typeID, slot: slots[t], rowElements: kvDim, key: kt, value: vt)
            }
            p?.lap("rope + kv write")
            if index == layers.count - 1 && outputRows.count < count {
                batch = PagedAttentionSteps.compact(batch, rows: outputRows, rowWidths: [(x, hidden), (q, qDim)], positions: positions)
                count = outputRows.count
            }
            PagedAttentionSteps.attend(batch, configuration: c, q: q, out: attention, positions: positions, keyCache: keyCache,
                                       valueCache: valueCache, cache: cache, group: 0, scale: 1 / Float(c.headDim).squareRoot(),
                                       window: c.slidingWindow ?? 0, pool: threadPool)
            p?.lap("attention")
            runner.run(input: attention, inputStride: qDim, tokens: count, jobs: [MatmulJob(matrix: layer.attentionOutput, output: projected)])
            p?.lap("matmul attn output")
            allReduce(projected, count: count * hidden)
            let norm = normalizer(x, into: h, weight: layer.feedForwardNorm, adding: projected, bias: layer.attentionOutputBias)
            switch layer.feedForward {
            case .dense(let mlp):
                mlp.run(input: h, count: count, into: projected, gate: gate, up: up, runner: runner, prepare: norm)
                p?.lap("norm + gated MLP")
                allReduce(projected, count: count * hidden)
            case .experts(let moe):
                moe.forward(h: h, count: count, into: projected, runner: runner, scratch: expertScratch, prepare: norm)
                p?.lap("norm + experts")
            }
            // The next layer's attention norm adds this residual; after the last layer it is added here.
            if index == layers.count - 1 {
                threadPool.forEachItem(count) { t in Kernels.add(projected + t * hidden, to: x + t * hidden, count: hidden) }
                p?.lap("residual add")
            }
        }

        return x
    }

    /// Adds the pending residual `y` (plus `bias`) into token t's row of x, then RMS-normalizes that row into h
    /// (`vk_add_rms_norm`, one pass for the add and the sum of squares): the `prepare` step of the matmul that
    /// reads h, so the add and the norm run in the pass that quantizes the row instead of passes of their own. The weight and
    /// bias are copied to scratch first, so the step, run per token on every thread, reads no Swift array (perf
    /// had `swift_release` at 0.5-2.4% of a prefill, not traced to a caller).
    private func normalizer(_ x: UnsafeMutablePointer<Float>, into h: UnsafeMutablePointer<Float>, weight: [Float],
                            adding y: UnsafeMutablePointer<Float>?, bias: [Float]?) -> (Int) -> Void {
        let hidden = configuration.hiddenSize, eps = configuration.rmsNormEps
        let vectors = scratch.normVectors.reserve(2 * hidden)
        vectors.update(from: weight, count: hidden)
        if let bias { (vectors + hidden).update(from: bias, count: hidden) }
        let b: UnsafeMutablePointer<Float>? = bias == nil ? nil : vectors + hidden
        return { t in Kernels.addRMSNorm(x + t * hidden, adding: y.map { $0 + t * hidden }, bias: b, weight: vectors, into: h + t * hidden, count: hidden, eps: eps) }
    }

    /// Under tensor parallelism, sums this rank's partial `[count]` outputs with the other ranks' (every rank then holds
    /// the same residual stream). A rank that is gone leaves the group unable to compute: the process ends with the
    /// reason, as vLLM's engine dies with its workers.
    private func allReduce(_ values: UnsafeMutablePointer<Float>, count: Int) {
        guard let communicator = shard.communicator else { return }
        do {
            try communicator.allReduceSum(UnsafeMutableBufferPointer(start: values, count: count))
        } catch {
            TensorParallelFailure.exit(error)
        }
        profiler?.lap("all-reduce")
    }

    private func add(_ bias: [Float], to row: UnsafeMutablePointer<Float>) {
        bias.withUnsafeBufferPointer { Kernels.add($0.baseAddress!, to: row, count: $0.count) }
    }
}
