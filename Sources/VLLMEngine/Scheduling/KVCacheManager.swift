/// Block tables of running requests over one shared `BlockPool`, with automatic prefix caching.
/// Blocks are allocated on demand as a request's computed tokens grow and released when it finishes
/// or is preempted.
public struct KVCacheManager {
    public private(set) var pool: BlockPool
    public let blockSize: Int
    /// Block table of each request that holds blocks, by request id.
    public private(set) var blockTables: [Int: [Int32]] = [:]
    /// Prefix-cache lookups and hits, in tokens (vLLM's `prefix_cache_queries/hits`).
    public private(set) var prefixQueryTokens = 0
    public private(set) var prefixHitTokens = 0

    public init(blockCount: Int, blockSize: Int, cachingEnabled: Bool) {
        pool = BlockPool(blockCount: blockCount, cachingEnabled: cachingEnabled)
        self.blockSize = blockSize
    }

    /// The longest cached prefix of a new request, in whole blocks, never covering its last token
    /// (that token is always recomputed so there are logits to sample from).
    public mutating func cachedPrefix(of request: Request) -> [Int32] {
        guard pool.cachingEnabled else { return [] }
        request.updateBlockHashes(blockSize: blockSize)
        let usable = (request.tokenCount - 1) / blockSize
        var blocks: [Int32] = []
        for hash in request.blockHashes.prefix(usable) {
            guard let block = pool.cachedBlock(hash) else { break }
            blocks.append(block)
        }
        prefixQueryTokens += request.tokenCount
        prefixHitTokens += blocks.count * blockSize
        return blocks
    }

    /// Reserves blocks so that `request` can hold `newTokenCount` more tokens beyond its computed ones
    /// (plus `cachedBlocks` hit in the prefix cache, which are taken first). False, changing nothing, when
    /// the pool cannot supply them.
    public mutating func allocate(_ request: Request, newTokenCount: Int, cachedBlocks: [Int32] = []) -> Bool {
        let existing = blockTables[request.id] ?? []
        let totalTokens = request.computedTokenCount + cachedBlocks.count * blockSize + newTokenCount
        let needed = (totalTokens + blockSize - 1) / blockSize - existing.count - cachedBlocks.count
        let evictableHits = cachedBlocks.filter { pool.referenceCount($0) == 0 }.count
        guard needed + evictableHits <= pool.freeCount else { return false }
        pool.touch(cachedBlocks)
        var table = existing + cachedBlocks
        if needed > 0 { table += pool.allocate(needed)! }
        blockTables[request.id] = table
        // Cache every full block whose tokens are known now: a later request (even in this same step)
        // can share it, since each step writes all new K/V before any attention reads.
        request.updateBlockHashes(blockSize: blockSize)
        let full = min(totalTokens / blockSize, request.blockHashes.count)
        for i in 0..<full { pool.cache(table[i], as: request.blockHashes[i]) }
        return true
    }

    /// Releases all of a request's blocks, tail first so its shared prefix stays cached longest.
    public mutating func free(_ request: Request) {
        guard let table = blockTables.removeValue(forKey: request.id) else { return }
        pool.release(table.reversed())
    }

    /// Cross-checks block tables against reference counts; nil when consistent.
    public func invariantViolation() -> String? {
        if let problem = pool.invariantViolation() { return problem }
        var counts: [Int32: Int] = [:]
        for table in blockTables.values { for block in table { counts[block, default: 0] += 1 } }
        for block in 0..<Int32(pool.blockCount) where pool.referenceCount(block) != counts[block, default: 0] {
            return "block \(block) has \(pool.referenceCount(block)) references but appears in \(counts[block, default: 0]) block tables"
        }
        return nil
    }
}
