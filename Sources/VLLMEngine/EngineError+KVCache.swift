import Foundation
import VLLMModels

extension EngineError {
    /// The start-up error when the KV cache cannot hold one sequence of `maxModelLength` tokens: vLLM's
    /// `check_enough_kv_cache_memory` message (vllm/v1/core/kv_cache_utils.py), with our flags in place of
    /// `gpu_memory_utilization` and `max_model_len`. One line, so the CLI prints it as one.
    /// With sliding-window layers (`layout`), a sequence needs blocks for the window only in their groups.
    static func kvCacheTooSmall(maxModelLength: Int, blockSize: Int, blockBytes: Int, blockCount: Int,
                                layout: KVCacheLayout = KVCacheLayout(layerCount: 1), stepTokens: Int = 0) -> EngineError {
        func blocks(_ tokens: Int) -> Int { layout.blocksForSequence(tokens: tokens, stepTokens: stepTokens, blockSize: blockSize) }
        let neededBlocks = blocks(maxModelLength)
        // The longest sequence that fits: blocks(n) only grows with n.
        var low = 0, high = maxModelLength
        while low < high {
            let mid = (low + high + 1) / 2
            if blocks(mid) <= blockCount { low = mid } else { high = mid - 1 }
        }
        let needed = Double(neededBlocks) * Double(blockBytes), available = Double(blockCount) * Double(blockBytes)
        return EngineError(
            "To serve at least one request with the model's max seq len (\(maxModelLength)), \(gib(needed)) GiB KV cache is "
                + "needed, which is larger than the available KV cache memory (\(gib(available)) GiB). Based on the available "
                + "memory, the estimated maximum model length is \(low). Try increasing --kv-cache-space "
                + "or decreasing --max-model-len.")
    }

    /// GiB with two decimals as vLLM prints them, or two significant digits below 0.01 GiB (so a test's tiny
    /// cache does not read as 0.00).
    private static func gib(_ bytes: Double) -> String {
        let value = bytes / 1_073_741_824
        return String(format: value >= 0.01 ? "%.2f" : "%.2g", value)
    }
}
