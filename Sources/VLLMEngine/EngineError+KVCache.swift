import Foundation

extension EngineError {
    /// The start-up error when the KV cache cannot hold one sequence of `maxModelLength` tokens: vLLM's
    /// `check_enough_kv_cache_memory` message (vllm/v1/core/kv_cache_utils.py), with our flags in place of
    /// `gpu_memory_utilization` and `max_model_len`. One line, so the CLI prints it as one.
    static func kvCacheTooSmall(maxModelLength: Int, blockSize: Int, blockBytes: Int, blockCount: Int) -> EngineError {
        let neededBlocks = (maxModelLength + blockSize - 1) / blockSize
        let needed = Double(neededBlocks) * Double(blockBytes), available = Double(blockCount) * Double(blockBytes)
        return EngineError(
            "To serve at least one request with the model's max seq len (\(maxModelLength)), \(gib(needed)) GiB KV cache is "
                + "needed, which is larger than the available KV cache memory (\(gib(available)) GiB). Based on the available "
                + "memory, the estimated maximum model length is \(blockCount * blockSize). Try increasing --kv-cache-space "
                + "or decreasing --max-model-len.")
    }

    /// GiB with two decimals as vLLM prints them, or two significant digits below 0.01 GiB (so a test's tiny
    /// cache does not read as 0.00).
    private static func gib(_ bytes: Double) -> String {
        let value = bytes / 1_073_741_824
        return String(format: value >= 0.01 ? "%.2f" : "%.2g", value)
    }
}
