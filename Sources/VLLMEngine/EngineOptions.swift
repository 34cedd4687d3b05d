import Foundation
import VLLMModelFormats
import VLLMModels

/// Engine configuration shared by `vllm generate`, `bench` and `serve` (vLLM's flag names in comments).
public struct EngineOptions: Sendable, Equatable {
    /// `--threads`: compute threads (default: one per core).
    public var threads: Int? = nil
    /// `--dtype`: the dot products with float weights (`ComputeDType`: bf16 products for BF16 weights unless float32).
    public var dtype: ComputeDType = .auto
    /// `--revision`, `--download-dir`, `--gguf-file`: for models named `ORG/NAME` (downloaded from the Hub, see
    /// `HubModel`): the branch, tag or commit; the cache folder instead of the Hugging Face one; the GGUF file of a
    /// GGUF repo.
    public var revision: String? = nil
    public var downloadDirectory: String? = nil
    public var ggufFile: String? = nil
    /// `--quantization awq|gptq|compressed-tensors`: nil = whatever the checkpoint's `quantization_config` says;
    /// given, it must agree with it.
    public var quantization: QuantizationConfig.Method? = nil
    /// `--kv-cache-dtype`: nil = auto (f32 for f32 weights, else f16).
    public var kvCacheType: KVCacheType? = nil
    /// `--block-size`: tokens per KV block.
    public var blockSize: Int = 16
    /// `--max-model-len`: nil = the model's context length.
    public var maxModelLength: Int? = nil
    /// `--kv-cache-space` in GiB (vLLM's `VLLM_CPU_KVCACHE_SPACE`); nil: `defaultKVCacheSpaceGiB()`. It must hold one
    /// sequence of the max model length, or the engine refuses to start (`EngineError`, as vLLM does).
    public var kvCacheSpaceGiB: Double? = nil
    /// `--max-num-batched-tokens`: tokens computed in one step. 1024, not vLLM's 2048: on a 2-core CPU a
    /// 2048-token step takes over a second, and a request arriving just after one starts waits all of it
    /// (32-stream p99 TTFT 2.0-2.4 s at 2048, 1.7-1.8 s at 1024, and more output tokens/s; BENCHMARKS.md).
    public var maxNumBatchedTokens: Int = 1024
    /// `--max-num-seqs`: requests running at once.
    public var maxNumSeqs: Int = 256
    /// `--enable-prefix-caching` / `--no-enable-prefix-caching`.
    public var enablePrefixCaching: Bool = true
    /// Collect prefix-cache changes as `KVCacheEvent`s for a publisher (vLLM's `enable_kv_cache_events`).
    public var enableKVCacheEvents: Bool = false
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
    /// `--gpu-memory-utilization`: the fraction of the machine's memory (`MemTotal`) that the weights and the KV
    /// cache may take together; the KV cache gets what the packed weights leave (`kvCacheSpaceGiB(weightBytes:)`).
    /// Exclusive with `kvCacheSpaceGiB`.
    public var memoryUtilization: Double? = nil
    /// `--runner auto|generate|pooling`: auto pools with encoder models (and with `--convert embed`), else generates.
    public var runner: Runner = .auto
    /// `--convert auto|none|embed`: `embed` serves a decoder as an embedding model (last-token pooling, normalized).
    public var convert: Convert = .auto
    /// `--tensor-parallel-size`: processes splitting the model's heads and MLP features (`TensorParallelLauncher`).
    public var tensorParallelSize: Int = 1
    /// `--distributed-executor-backend`: how the ranks start and talk: `mp` (this process starts the others on this
    /// host, shared memory) or `mpi` (every rank started by `mpirun`, Open MPI between them).
    public var distributedExecutorBackend: DistributedExecutorBackend = .mp
    /// The executable that runs `vllm tp-worker` for the `mp` backend (nil: `TensorParallelLauncher.workerExecutable()`).
    public var workerExecutable: String? = nil
    /// `--pooler-config` JSON (`pooling_type`, `normalize`) over the model's own pooling.
    public var poolerConfig: String? = nil
    /// `--generation-config auto|vllm|FOLDER` and `--override-generation-config` JSON: where requests' sampling
    /// defaults come from (`SamplingDefaults.resolve`).
    public var generationConfig: String = "auto"
    public var overrideGenerationConfig: String? = nil

    /// vLLM's `--distributed-executor-backend` values this engine has (vLLM's `ray` and `external_launcher` are not).
    public enum DistributedExecutorBackend: String, Sendable, CaseIterable { case mp, mpi }
    /// vLLM's `--runner`.
    public enum Runner: String, Sendable, CaseIterable { case auto, generate, pooling }
    /// vLLM's `--convert`.
    public enum Convert: String, Sendable, CaseIterable { case auto, none, embed }

    public init() {}

    /// The KV budget in GiB: `--kv-cache-space`, else `--gpu-memory-utilization` × total memory less the weights'
    /// `weightBytes`, else `defaultKVCacheSpaceGiB()`.
    public func kvCacheSpaceGiB(weightBytes: Int) throws(EngineError) -> Double {
        if let kvCacheSpaceGiB { return kvCacheSpaceGiB }
        guard let fraction = memoryUtilization else { return Self.defaultKVCacheSpaceGiB() }
        let total = Self.meminfoKiB("MemTotal:").map { $0 * 1024 } ?? 0
        let space = fraction * total - Double(weightBytes)
        guard space > 0 else {
            throw EngineError(String(format: "--gpu-memory-utilization %g leaves no room for the KV cache: the weights take %.2f GiB of the %.2f GiB it allows (%g of %.2f GiB); raise it or give --kv-cache-space",
                                     fraction, Double(weightBytes) / 1_073_741_824, fraction * total / 1_073_741_824, fraction, total / 1_073_741_824))
        }
        return space / 1_073_741_824
    }

    /// A /proc/meminfo field in KiB.
    static func meminfoKiB(_ field: String) -> Double? {
        guard let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix(field) }) else { return nil }
        return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Double($0) }
    }

    /// The KV budget when none is given: 2 GiB, or a quarter of the memory the kernel reports available
    /// (`MemAvailable` in /proc/meminfo) when that is less, so that a small machine keeps room for everything
    /// else. The cache's pages are faulted in after start, so the budget is memory really used.
    public static func defaultKVCacheSpaceGiB() -> Double {
        defaultKVCacheSpaceGiB(availableKiB: meminfoKiB("MemAvailable:"))
    }

    /// The rule behind `defaultKVCacheSpaceGiB()`: min(2 GiB, available / 4), at least 1/16 GiB; 2 GiB when the
    /// available memory is unknown.
    public static func defaultKVCacheSpaceGiB(availableKiB: Double?) -> Double {
        let preferred = 2.0
        guard let availableKiB else { return preferred }
        return max(1.0 / 16, min(preferred, availableKiB / 1_048_576 / 4))
    }
}
