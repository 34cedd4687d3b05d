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
    /// `--kv-cache-space` in GiB: nil = enough for one full-length sequence.
    public var kvCacheSpaceGiB: Double? = nil
    /// Largest number of prompt tokens computed in one forward pass.
    public var maxNumBatchedTokens: Int = 512

    public init() {}
}
