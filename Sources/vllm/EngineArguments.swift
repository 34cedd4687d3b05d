import Foundation
import ArgumentParser
import VLLMEngine
import VLLMModelFormats
import VLLMModels

/// Engine flags shared by `generate`, `bench` and `serve` (vLLM's names).
struct EngineArguments: ParsableArguments {
    @Option(name: .long, help: "Compute threads (default: one per core).")
    var threads: Int?

    @Option(name: .long, help: "Dot products with float weights: auto (the weights' dtype; float32 weights of pooling models in bfloat16), bfloat16 (float32 weights rounded to it) or float32. Quantized GGUF weights always take int8 activations.")
    var dtype: String = "auto"

    @Option(name: .long, help: "For ORG/NAME models from the Hugging Face Hub: the branch, tag or commit (default: main).")
    var revision: String?

    @Option(name: .customLong("download-dir"), help: "For ORG/NAME models: the cache folder (default: HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub).")
    var downloadDir: String?

    @Option(name: .customLong("gguf-file"), help: "For a GGUF repo ORG/NAME: the GGUF file to use (or write ORG/NAME:QUANT).")
    var ggufFile: String?

    @Option(name: .long, help: "The checkpoint's weight quantization: awq, gptq or compressed-tensors (default: its config.json's quantization_config). Must agree with the checkpoint.")
    var quantization: String?

    @Option(name: .customLong("kv-cache-dtype"), help: "KV cache element type: auto, f32 or f16 (also fp16/float16/float32).")
    var kvCacheDtype: String = "auto"

    @Option(name: .customLong("block-size"), help: "Tokens per KV cache block.")
    var blockSize: Int = 16

    @Option(name: .customLong("max-model-len"), help: "Context length limit (default: the model's).")
    var maxModelLen: Int?

    @Option(name: .customLong("kv-cache-space"),
            help: "KV cache memory in GiB (default: 2, or a quarter of the available memory when that is less).")
    var kvCacheSpace: Double?

    @Option(name: .customLong("gpu-memory-utilization"),
            help: "Fraction of the machine's memory the weights and KV cache may take together (vLLM's flag; the KV cache gets what the weights leave). Exclusive with --kv-cache-space.")
    var gpuMemoryUtilization: Double?

    @Option(name: .customLong("max-num-batched-tokens"), help: "Most tokens computed in one engine step.")
    var maxNumBatchedTokens: Int = EngineOptions().maxNumBatchedTokens

    @Option(name: .customLong("max-num-seqs"), help: "Most requests running at once.")
    var maxNumSeqs: Int = 256

    @Flag(name: .customLong("enable-prefix-caching"), inversion: .prefixedNo,
          help: "Reuse KV blocks of common prompt prefixes across requests.")
    var enablePrefixCaching = true

    @Flag(name: .customLong("enable-chunked-prefill"), inversion: .prefixedNo,
          help: "Compute long prompts over several steps beside running decodes (off: each prompt in one step).")
    var enableChunkedPrefill = true

    @Option(name: .customLong("long-prefill-token-threshold"), help: "Most prompt tokens one request computes per step (0: no limit).")
    var longPrefillTokenThreshold: Int = 0

    @Option(name: .customLong("scheduling-policy"), help: "fcfs or priority.")
    var schedulingPolicy: String = "fcfs"

    @Option(name: .long, help: "Seed for requests that give none.")
    var seed: UInt64?

    @Flag(name: .long, help: "Time every phase of each engine step and print the table to stderr at the end.")
    var profile = false

    @Option(name: .long, help: "auto, generate or pooling: pooling serves embeddings (/v1/embeddings, /score, /rerank); auto pools with encoder models and with --convert embed.")
    var runner: String = "auto"

    @Option(name: .long, help: "auto, none or embed: embed serves a decoder as an embedding model (last-token pooling, normalized).")
    var convert: String = "auto"

    @Option(name: .customLong("pooler-config"), help: "Pooling of a pooling model as JSON, e.g. '{\"pooling_type\": \"MEAN\", \"normalize\": true}' (CLS, MEAN or LAST).")
    var poolerConfig: String?

    @Option(name: .customLong("generation-config"), help: "Where requests' sampling defaults come from: auto (the model folder's generation_config.json: temperature, top_p, top_k, min_p, repetition_penalty, max_new_tokens), vllm (vLLM's neutral defaults) or a folder holding generation_config.json.")
    var generationConfig: String = "auto"

    @Option(name: .customLong("override-generation-config"), help: "JSON object over the generation config's defaults, e.g. '{\"temperature\": 0.5}' (keys: temperature, top_p, top_k, min_p, repetition_penalty, max_new_tokens).")
    var overrideGenerationConfig: String?

    @Option(name: [.customLong("tensor-parallel-size"), .customLong("tp", withSingleDash: true)],
            help: "Processes splitting the model's attention heads and MLP features (one all-reduce after attention, one after the MLP), each pinned to its share of the cores (VLLM_CPU_OMP_THREADS_BIND).")
    var tensorParallelSize: Int = 1

    @Option(name: .customLong("distributed-executor-backend"),
            help: "mp: this process starts the other ranks on this host (shared memory); mpi: every rank started by `mpirun -np N` (Open MPI), on one host or several.")
    var distributedExecutorBackend: String = "mp"

    func validate() throws {
        guard tensorParallelSize >= 1 else { throw ValidationError("--tensor-parallel-size must be at least 1, got \(tensorParallelSize)") }
        _ = try backend()
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard blockSize >= 1, blockSize <= 1024 else { throw ValidationError("--block-size must be in 1...1024, got \(blockSize)") }
        if let maxModelLen, maxModelLen < 1 { throw ValidationError("--max-model-len must be at least 1, got \(maxModelLen)") }
        if let kvCacheSpace, !(kvCacheSpace > 0) {
            throw ValidationError("--kv-cache-space must be a positive number of GiB, got \(kvCacheSpace)")
        }
        guard maxNumBatchedTokens >= 1 else { throw ValidationError("--max-num-batched-tokens must be at least 1") }
        guard maxNumSeqs >= 1 else { throw ValidationError("--max-num-seqs must be at least 1") }
        guard longPrefillTokenThreshold >= 0 else { throw ValidationError("--long-prefill-token-threshold must be non-negative") }
        guard SchedulerConfiguration.Policy(rawValue: schedulingPolicy) != nil else {
            throw ValidationError("--scheduling-policy must be fcfs or priority, got '\(schedulingPolicy)'")
        }
        _ = try kvCacheType()
        _ = try computeDType()
        guard EngineOptions.Runner(rawValue: runner) != nil else { throw ValidationError("--runner must be auto, generate or pooling, got '\(runner)'") }
        guard EngineOptions.Convert(rawValue: convert) != nil else { throw ValidationError("--convert must be auto, none or embed, got '\(convert)'") }
        if let poolerConfig {
            do {
                _ = try PoolerConfiguration(poolingType: .cls).overridden(byJSON: poolerConfig)
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }

    func backend() throws -> EngineOptions.DistributedExecutorBackend {
        if let backend = EngineOptions.DistributedExecutorBackend(rawValue: distributedExecutorBackend.lowercased()) { return backend }
        if ["ray", "external_launcher", "uni"].contains(distributedExecutorBackend.lowercased()) {
            throw ValidationError("--distributed-executor-backend \(distributedExecutorBackend) is vLLM's but not built here: use mp (one host, shared memory) or mpi (mpirun, one host or several)")
        }
        throw ValidationError("--distributed-executor-backend must be mp or mpi, got '\(distributedExecutorBackend)'")
    }

    func computeDType() throws -> ComputeDType {
        switch dtype.lowercased() {
        case "auto": return .auto
        case "bfloat16", "bf16": return .bfloat16
        case "float32", "float", "fp32", "f32": return .float32
        case "float16", "half", "fp16", "f16":
            throw ValidationError("--dtype \(dtype) is not supported on CPU (there are no f16 dot products here): use bfloat16 or float32")
        default: throw ValidationError("--dtype must be auto, bfloat16 or float32, got '\(dtype)'")
        }
    }

    func kvCacheType() throws -> KVCacheType? {
        switch kvCacheDtype.lowercased() {
        case "auto": return nil
        case "f32", "float32", "float": return .f32
        case "f16", "fp16", "float16", "half": return .f16
        default: throw ValidationError("--kv-cache-dtype must be auto, f32 or f16, got '\(kvCacheDtype)'")
        }
    }

    func options() throws -> EngineOptions {
        var options = EngineOptions()
        options.threads = threads
        options.dtype = try computeDType()
        options.kvCacheType = try kvCacheType()
        options.revision = revision
        options.downloadDirectory = downloadDir
        options.ggufFile = ggufFile
        if let quantization {
            guard let method = QuantizationConfig.Method(rawValue: quantization.lowercased()) else {
                throw ValidationError("--quantization must be awq, gptq or compressed-tensors, got '\(quantization)'")
            }
            options.quantization = method
        }
        options.blockSize = blockSize
        options.maxModelLength = maxModelLen
        options.kvCacheSpaceGiB = kvCacheSpace
        if let fraction = gpuMemoryUtilization {
            guard fraction > 0, fraction <= 1 else { throw ValidationError("--gpu-memory-utilization must be in (0, 1], got \(fraction)") }
            guard kvCacheSpace == nil else { throw ValidationError("give --kv-cache-space or --gpu-memory-utilization, not both") }
            options.memoryUtilization = fraction
        }
        options.maxNumBatchedTokens = maxNumBatchedTokens
        options.maxNumSeqs = maxNumSeqs
        options.enablePrefixCaching = enablePrefixCaching
        options.enableChunkedPrefill = enableChunkedPrefill
        options.longPrefillTokenThreshold = longPrefillTokenThreshold
        options.schedulingPolicy = SchedulerConfiguration.Policy(rawValue: schedulingPolicy) ?? .fcfs
        options.seed = seed
        options.profile = profile
        options.runner = EngineOptions.Runner(rawValue: runner) ?? .auto
        options.convert = EngineOptions.Convert(rawValue: convert) ?? .auto
        options.poolerConfig = poolerConfig
        options.generationConfig = generationConfig
        options.overrideGenerationConfig = overrideGenerationConfig
        options.tensorParallelSize = tensorParallelSize
        options.distributedExecutorBackend = try backend()
        return options
    }
}

extension EngineArguments {
    /// `--profile`'s table (every phase of the engine's steps so far) to stderr; nothing without the flag.
    static func reportProfile(_ model: any LanguageModel) {
        guard let profiler = model.profiler else { return }
        FileHandle.standardError.write(Data((profiler.report() + "\n").utf8))
    }
}
