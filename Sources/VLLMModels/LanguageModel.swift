import VLLMKernels

/// A decoder the engine runs, whatever its architecture: it computes a flattened batch of sequences over a paged KV
/// cache (writing the new tokens' K/V into it) and returns the logits, or the final hidden states, of the tokens
/// the batch asks for.
///
/// Implementations are not thread-safe: one owner (the engine loop) calls `forward`, which may use `threadPool`.
/// An implementation registers itself in `ModelRegistry` under its architecture names.
public protocol LanguageModel: AnyObject, Sendable {
    /// The hyper-parameters the engine needs (vocabulary, context, KV cache geometry) and the architecture's own.
    var configuration: ModelConfiguration { get }
    /// How the weights are stored, for logs ("Q4_K+Q6_K+Q8_0", "BF16").
    var weightTypeDescription: String { get }
    /// Bytes of the packed weight copies the matmuls read.
    var packedWeightBytes: Int { get }
    /// The workers `forward` runs on.
    var threadPool: ThreadPool { get }
    /// When set, `forward` charges each phase's wall time to it (the caller has called `start()`).
    var profiler: Profiler? { get set }

    /// Each layer's sliding attention window (nil: full attention), which sets the KV cache's groups
    /// (`KVCacheLayout`); a model whose layers all attend in full need not implement it.
    var slidingWindows: [Int?] { get }

    /// Whether this is an encoder (BERT): attention over the whole sequence, hidden states out and no logits. Its
    /// sequences must run whole, from position 0, in one step (no chunked prefill, no prefix cache). False by default.
    var isEncoder: Bool { get }

    /// Fixes the context the engine will run (its max model length) before the first `forward`: LongRoPE models pick
    /// their long factors when it exceeds their original context. No-op by default.
    func fitContext(_ length: Int)

    /// Runs the batch and returns, for `batch.logitIndices` in that order, `[count, vocabularySize]` logits
    /// (`batch.output == .logits`) or `[count, hiddenSize]` final-normed hidden states (`.hiddenStates`). The
    /// buffer is valid until the next call.
    func forward(_ batch: ForwardBatch, cache: PagedKVCache) -> UnsafeBufferPointer<Float>

    /// Bytes one token slot of a block takes across the block's layer regions in a cache of `type` (the KV budget's
    /// unit); by default from `configuration`.
    func kvBytesPerToken(type: KVCacheType) -> Int
}

extension LanguageModel {
    public var slidingWindows: [Int?] { [Int?](repeating: nil, count: configuration.layerCount) }

    /// How the layers share the KV cache's blocks.
    public var kvCacheLayout: KVCacheLayout { KVCacheLayout(slidingWindows: slidingWindows) }

    public var isEncoder: Bool { false }

    public func fitContext(_ length: Int) {}

    /// The KV cache this model needs for `blockCount` blocks of `blockSize` tokens of `type`.
    public func makeKVCache(blockCount: Int, blockSize: Int, type: KVCacheType) -> PagedKVCache {
        let c = configuration
        return PagedKVCache(blockCount: blockCount, blockSize: blockSize, layout: kvCacheLayout, kvHeadCount: c.kvHeadCount,
                            headDim: c.headDim, type: type)
    }

    public func kvBytesPerToken(type: KVCacheType) -> Int {
        let c = configuration
        return PagedKVCache.bytesPerToken(layerCount: kvCacheLayout.regionCount, kvHeadCount: c.kvHeadCount, headDim: c.headDim, type: type)
    }
}
