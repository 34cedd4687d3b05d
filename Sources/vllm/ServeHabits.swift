import ArgumentParser
import Logging

/// vLLM flags people bring to `vllm serve` that mean something else, or nothing, on one CPU host: each is accepted
/// with what it means here, or refused by name with what to use instead, never "Unknown option".
struct ServeHabits: ParsableArguments {
    @Option(name: .customLong("model"), help: "The model, as vLLM also accepts it (instead of the positional MODEL).")
    var model: String?

    @Flag(name: .customLong("trust-remote-code"), help: "Accepted: no model code is ever downloaded or run here (architectures are built in).")
    var trustRemoteCode = false

    @Option(name: .customLong("device"), help: "cpu (or auto): the only device this engine runs on.")
    var device: String?

    @Option(name: [.customLong("pipeline-parallel-size")], help: .hidden)
    var pipelineParallelSize: Int = 1

    @Option(name: [.customLong("data-parallel-size")], help: .hidden)
    var dataParallelSize: Int = 1

    @Flag(name: .customLong("enforce-eager"), help: .hidden)
    var enforceEager = false

    @Option(name: .customLong("swap-space"), help: .hidden)
    var swapSpace: Double?

    @Option(name: .customLong("cpu-offload-gb"), help: .hidden)
    var cpuOffloadGB: Double?

    @Option(name: .customLong("batch-size"), help: .hidden)
    var batchSize: String?

    @Option(name: .customLong("max-connections"), help: .hidden)
    var maxConnections: String?

    @Option(name: .customLong("max-batch-size"), help: .hidden)
    var maxBatchSize: String?

    func validate() throws {
        if let device, !["cpu", "auto"].contains(device.lowercased()) {
            throw ValidationError("--device \(device): this engine runs on CPUs only (use --device cpu, or leave it out)")
        }
        if pipelineParallelSize != 1 {
            throw ValidationError("--pipeline-parallel-size \(pipelineParallelSize) is not supported: split the model with --tensor-parallel-size instead")
        }
        if dataParallelSize != 1 {
            throw ValidationError("--data-parallel-size \(dataParallelSize) is not supported: run one `vllm serve` per replica behind a router (vllm-router)")
        }
        for (flag, value) in [("--batch-size", batchSize), ("--max-batch-size", maxBatchSize), ("--max-connections", maxConnections)] where value != nil {
            throw ValidationError("\(flag) is not a vLLM serve flag: use --max-num-seqs (requests running at once) or --max-num-batched-tokens (tokens computed in one step)"
                                  + (flag == "--max-connections" ? "; --limit-concurrency caps HTTP connections" : ""))
        }
    }

    /// The model from the positional argument or `--model` (they must agree when both are given).
    func model(positional: String?) throws -> String? {
        if let positional, let model, positional != model {
            throw ValidationError("the model is given twice, as '\(positional)' and as --model '\(model)'")
        }
        return positional ?? model
    }

    /// Logs what the accepted GPU-only flags mean here.
    func announce(_ logger: Logger) {
        if trustRemoteCode { logger.info("--trust-remote-code: accepted; no remote model code is run here, architectures are built in") }
        if enforceEager { logger.warning("--enforce-eager means nothing on a CPU (there are no CUDA graphs to disable): ignored") }
        if swapSpace != nil { logger.warning("--swap-space means nothing here (the KV cache is already in CPU memory; size it with --kv-cache-space): ignored") }
        if cpuOffloadGB != nil { logger.warning("--cpu-offload-gb means nothing here (the weights are already in CPU memory): ignored") }
    }
}
