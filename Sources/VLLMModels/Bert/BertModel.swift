import VLLMKernels
import VLLMModelFormats

/// A BERT-family encoder (BERT, MiniLM, BGE, ...): absolute position and token-type embeddings, bidirectional
/// attention, post-LayerNorm, exact GELU. Returns final hidden states (it has no language-model head) for pooling.
/// Follows Hugging Face's `modeling_bert.py` numerics and llama.cpp's `LLM_ARCH_BERT` tensor names.
///
/// Bidirectional attention over each sequence's own keys and values, computed in the same step
/// (`Kernels.encoderAttention`): the paged KV cache the engine allocates is not written. So a sequence must come
/// whole, from position 0, in one batch (the engine schedules encoder prompts unchunked, without prefix caching).
/// Not thread-safe: one owner calls `forward`.
public final class BertModel: LanguageModel, @unchecked Sendable {
    public let configuration: ModelConfiguration
    public let weightTypeDescription: String
    /// LayerNorm epsilon (`layer_norm_eps`, 1e-12 in BERT).
    let layerNormEps: Float
    let tokenEmbedding: WeightMatrix        // [vocab, hidden]
    let positionEmbedding: WeightMatrix     // [maxPositions, hidden]
    let tokenTypeEmbedding: WeightMatrix    // [typeVocab, hidden]; every input here is segment 0
    let embeddingNormWeight: [Float]        // [hidden]
    let embeddingNormBias: [Float]          // [hidden]
    let layers: [BertLayer]
    private let storage: [AnyObject]
    let runner: MatmulRunner
    let scratch = ForwardScratch()
    let embeddingRowIDs = AlignedBuffer<Int32>()  // [tokens] each token's position-embedding row, then its segment's
    public var profiler: Profiler?

    init(configuration: ModelConfiguration, layerNormEps: Float, typeVocabularySize: Int, store: WeightStore, storage: [AnyObject],
         pool: ThreadPool, dtype: ComputeDType) throws(ModelFormatError) {
        let c = configuration, hidden = c.hiddenSize
        self.configuration = c
        self.layerNormEps = layerNormEps
        tokenEmbedding = try store.matrix("token_embd.weight", rows: c.vocabularySize, columns: hidden)
        positionEmbedding = try store.matrix("position_embd.weight", rows: c.maxPositions, columns: hidden)
        tokenTypeEmbedding = try store.matrix("token_types.weight", rows: typeVocabularySize, columns: hidden)
        embeddingNormWeight = try store.vector("token_embd_norm.weight", count: hidden)
        embeddingNormBias = try store.vector("token_embd_norm.bias", count: hidden)
        let arena = PackedArena()
        var layers: [BertLayer] = []
        for i in 0..<c.layerCount {
            layers.append(try BertLayer(index: i, hidden: hidden, intermediate: c.intermediateSize, store: store)
                .packing(pool: pool, dtype: dtype, arena: arena))
        }
        self.layers = layers
        try store.checkAllUsed()
        self.storage = storage
        arena.promoteToHugePagesInBackground()  // packed on 4 KiB pages: the load does not wait for huge pages
        runner = MatmulRunner(pool: pool)
        let types = Set(([tokenEmbedding] + layers.flatMap { [$0.query, $0.up, $0.down] }).map(\.typeID))
        weightTypeDescription = types.sorted().compactMap { TensorType(rawValue: $0)?.name }.joined(separator: "+")
    }

    public var threadPool: ThreadPool { runner.pool }
    public var isEncoder: Bool { true }

    public var packedWeightBytes: Int {
        layers.flatMap { layer in BertLayer.matmulWeights.map { layer[keyPath: $0] } }.reduce(0) { $0 + ($1.packed?.byteCount ?? 0) }
    }

    /// Tokens one pass through the layers takes at most, in whole sequences (a longer sequence runs alone).
    public static let microBatchTokens = 512

    /// The final hidden states (after the last layer's LayerNorm) of `batch.logitIndices`, `[rows, hidden]`,
    /// valid until the next call. An encoder has no logits: `batch.output` must be `.hiddenStates`.
    public func forward(_ batch: ForwardBatch, cache: PagedKVCache) -> UnsafeBufferPointer<Float> {
        precondition(batch.output == .hiddenStates, "an encoder model returns hidden states, not logits")
        let hidden = configuration.hiddenSize
        let rows = batch.logitIndices
        let final = scratch.finalHidden.reserve(max(1, rows.count) * hidden)
        var next = 0, start = 0
        while start < batch.sequences.count {
            // Whole sequences, up to the micro-batch size.
            var end = start + 1, tokens = batch.sequences[start].tokenCount
            while end < batch.sequences.count, tokens + batch.sequences[end].tokenCount <= Self.microBatchTokens {
                tokens += batch.sequences[end].tokenCount
                end += 1
            }
            var part = ForwardBatch(output: .hiddenStates)
            let offset = batch.sequences[start].tokenStart
            for s in batch.sequences[start..<end] {
                precondition(s.startPosition == 0, "an encoder sees a whole sequence in one step (no chunked prefill, no prefix cache)")
                part.append(tokens: Array(batch.tokens[s.tokenStart..<(s.tokenStart + s.tokenCount)]), startPosition: 0, blockTable: s.blockTable)
            }
            let x = encode(part)
            while next < rows.count, rows[next] < offset + tokens {
                (final + next * hidden).update(from: x + (rows[next] - offset) * hidden, count: hidden)
                next += 1
            }
            start = end
        }
        profiler?.lap("pooled rows")
        return UnsafeBufferPointer(start: final, count: rows.count * hidden)
    }
}
