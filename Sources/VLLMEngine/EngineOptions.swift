import VLLMModels

/// Engine configuration shared by `vllm generate`, `bench` and `serve` (vLLM's flag names in comments).
public struct EngineOptions: Sendable, Equatable {
    /// `--threads`: compute threads (default: one per core).
    public var threads: Int? = nil
    /// `--kv-cache-dtype`: nil = auto (f32 for f32 weights, else f16).
    public var kvCacheType: KVCacheType? = nil
    /// `--block-size`: tokens per KV block.
    public var blockSize: Int = 16
    /// `--max-model-len`: nil = the model's context length.
    public var maxModelLength: Int? = nil
    /// `--kv-cache-space` in GiB (vLLM's `VLLM_CPU_KVCACHE_SPACE`); pages are touched only when used.
    public var kvCacheSpaceGiB: Double = 2
    /// `--max-num-batched-tokens`: tokens computed in one step.
    public var maxNumBatchedTokens: Int = 2048
    /// `--max-num-seqs`: requests running at once.
    public var maxNumSeqs: Int = 256
    /// `--enable-prefix-caching` / `--no-enable-prefix-caching`.
    public var enablePrefixCaching: Bool = true
    /// `--enable-chunked-prefill` / `--no-enable-chunked-prefill`.
    public var enableChunkedPrefill: Bool = true
    /// `--long-prefill-token-threshold` (0: no limit per request).
    public var longPrefillTokenThreshold: Int = 0
    /// `--scheduling-policy`.
    public var schedulingPolicy: SchedulerConfiguration.Policy = .fcfs
    /// `--seed`: seeds requests that give none, so whole runs repeat.
    public var seed: UInt64? = nil
    /// `--profile`: time every phase of each step (`model.profiler` holds the totals).
    public var profile: Bool = false

    public init() {}
}
