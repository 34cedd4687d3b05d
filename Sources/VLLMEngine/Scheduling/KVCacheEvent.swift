/// A change to the prefix cache's contents, in vLLM's KV-event terms (`vllm.distributed.kv_events`), for routers
/// that route on what each replica holds. Hashes are the 64-bit external form of a block's hash (vLLM publishes
/// its block hashes as integers too); only the first KV cache group is reported, as one block per token range.
public enum KVCacheEvent: Sendable, Equatable {
    /// Full blocks entered the cache: their hashes in order, the hash of the block before the first (nil at a
    /// prompt's start), and all their tokens (`hashes.count * blockSize` ids).
    case blockStored(hashes: [UInt64], parent: UInt64?, tokenIDs: [Int32], blockSize: Int)
    /// Blocks left the cache (their memory was reused).
    case blockRemoved(hashes: [UInt64])
    /// Every cached block was forgotten.
    case allBlocksCleared
}

extension BlockHash {
    /// The 64-bit form published in KV events.
    public var external: UInt64 { low }
}
