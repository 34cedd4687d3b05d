/// Block tables of running requests over one shared `BlockPool`, with automatic prefix caching, for every KV cache
/// group of the model (`KVCacheLayout`: one group for models whose layers all attend in full; full and
/// sliding-window groups for hybrid ones such as Gemma 3, vLLM's hybrid KV cache manager). Blocks are allocated on
/// demand as a request's computed tokens grow and released when it finishes or is preempted; a sliding-window
/// group's blocks are released as soon as they fall out of its window.
public struct KVCacheManager {
    public private(set) var pool: BlockPool
    public let blockSize: Int
    /// Each group's sliding window (nil: full attention), in `KVCacheLayout.groups` order.
    public let slidingWindows: [Int?]
    /// Each request's block table per group, by request id. Entries of a sliding-window group before its window
    /// are -1 (released, never read).
    public private(set) var groupBlockTables: [Int: [[Int32]]] = [:]
    /// Prefix-cache lookups and hits, in tokens (vLLM's `prefix_cache_queries/hits`).
    public private(set) var prefixQueryTokens = 0
    public private(set) var prefixHitTokens = 0
    /// Whether cache changes are collected as `KVCacheEvent`s (vLLM's `--kv-events-config`).
    public var recordsEvents = false {
        didSet { pool.recordsRemovals = recordsEvents }
    }
    private var events: [KVCacheEvent] = []
    /// The first group's hashes reported stored and not yet removed (other groups' copies are not reported).
    private var reported: Set<BlockHash> = []

    /// A prefix-cache hit: `blockCount` whole blocks of the prompt, and each group's blocks for them.
    public struct PrefixHit {
        public var blockCount = 0
        public var blocks: [[Int32]]
    }

    public init(blockCount: Int, blockSize: Int, cachingEnabled: Bool, slidingWindows: [Int?] = [nil]) {
        precondition(!slidingWindows.isEmpty)
        pool = BlockPool(blockCount: blockCount, cachingEnabled: cachingEnabled)
        self.blockSize = blockSize
        self.slidingWindows = slidingWindows
    }

    /// The first group's block table of each request (all of it for models with one group).
    public var blockTables: [Int: [Int32]] { groupBlockTables.mapValues { $0[0] } }

    /// No hit.
    public var noHit: PrefixHit { PrefixHit(blocks: slidingWindows.map { _ in [] }) }

    /// The longest cached prefix of a new request, in whole blocks, never covering its last token (that token is
    /// always recomputed so there are logits to sample from). Full-attention groups need every block of the
    /// prefix cached, sliding-window groups only the blocks the next token's window reaches back to.
    public mutating func cachedPrefix(of request: Request) -> PrefixHit {
        guard pool.cachingEnabled else { return noHit }
        request.updateBlockHashes(blockSize: blockSize)
        let hashes = request.blockHashes.prefix((request.tokenCount - 1) / blockSize)
        var count = hashes.count
        for (g, window) in slidingWindows.enumerated() where window == nil {
            count = min(count, hashes.prefix { pool.cachedBlock($0.inGroup(g)) != nil }.count)
        }
        func windowCached(_ count: Int) -> Bool {
            slidingWindows.enumerated().allSatisfy { g, window in
                guard let window else { return true }
                return (firstNeededBlock(computed: count * blockSize, window: window)..<count).allSatisfy {
                    pool.cachedBlock(hashes[$0].inGroup(g)) != nil
                }
            }
        }
        while count > 0 && !windowCached(count) { count -= 1 }
        var hit = PrefixHit(blockCount: count, blocks: [])
        for (g, window) in slidingWindows.enumerated() {
            let first = window.map { firstNeededBlock(computed: count * blockSize, window: $0) } ?? 0
            hit.blocks.append((0..<count).map { $0 < first ? -1 : pool.cachedBlock(hashes[$0].inGroup(g))! })
        }
        prefixQueryTokens += request.tokenCount
        prefixHitTokens += count * blockSize
        return hit
    }

    /// Reserves blocks so that `request` can hold `newTokenCount` more tokens beyond its computed ones (plus the
    /// blocks of `hit`, taken first). Sliding-window groups first release the blocks no new token can see. False,
    /// allocating nothing, when the pool cannot supply the blocks.
    public mutating func allocate(_ request: Request, newTokenCount: Int, hit: PrefixHit? = nil) -> Bool {
        let hit = hit ?? noHit
        var tables = groupBlockTables[request.id] ?? slidingWindows.map { _ in [] }
        let computed = request.computedTokenCount + hit.blockCount * blockSize
        let totalTokens = computed + newTokenCount
        let blocksNeeded = (totalTokens + blockSize - 1) / blockSize
        // Blocks out of a window are released whether or not the new ones fit (a hit never holds such blocks).
        for (g, window) in slidingWindows.enumerated() {
            guard let window else { continue }
            let first = min(firstNeededBlock(computed: computed, window: window), tables[g].count)
            pool.release(tables[g][..<first].reversed().filter { $0 >= 0 })
            for i in 0..<first { tables[g][i] = -1 }
        }
        if groupBlockTables[request.id] != nil { groupBlockTables[request.id] = tables }
        var needed = 0, evictableHits = 0
        for (g, window) in slidingWindows.enumerated() {
            tables[g] += hit.blocks[g]
            evictableHits += hit.blocks[g].filter { $0 >= 0 && pool.referenceCount($0) == 0 }.count
            if let window {
                while tables[g].count < firstNeededBlock(computed: computed, window: window) { tables[g].append(-1) }
            }
            needed += max(0, blocksNeeded - tables[g].count)
        }
        guard needed + evictableHits <= pool.freeCount else { return false }
        for blocks in hit.blocks { pool.touch(blocks.filter { $0 >= 0 }) }
        for g in tables.indices where tables[g].count < blocksNeeded {
            tables[g] += pool.allocate(blocksNeeded - tables[g].count)!
        }
        groupBlockTables[request.id] = tables
        // Cache every full block whose tokens are known now: a later request (even in this same step)
        // can share it, since each step writes all new K/V before any attention reads.
        request.updateBlockHashes(blockSize: blockSize)
        let full = min(totalTokens / blockSize, request.blockHashes.count)
        var stored: [Int] = []
        for (g, table) in tables.enumerated() {
            for i in 0..<full where table[i] >= 0 {
                if pool.cache(table[i], as: request.blockHashes[i].inGroup(g)) && g == 0 && recordsEvents { stored.append(i) }
            }
        }
        if !stored.isEmpty { recordStored(stored, of: request) }
        return true
    }

    /// One `blockStored` event per run of consecutive newly cached blocks, as vLLM's block pool reports them.
    private mutating func recordStored(_ indices: [Int], of request: Request) {
        flushRemovals()
        var start = 0
        while start < indices.count {
            var end = start
            while end + 1 < indices.count && indices[end + 1] == indices[end] + 1 { end += 1 }
            let first = indices[start], last = indices[end]
            let hashes = request.blockHashes[first...last]
            reported.formUnion(hashes)
            events.append(.blockStored(hashes: hashes.map(\.external), parent: first > 0 ? request.blockHashes[first - 1].external : nil,
                                       tokenIDs: Array(request.tokenIDs[(first * blockSize)..<((last + 1) * blockSize)]),
                                       blockSize: blockSize))
            start = end + 1
        }
    }

    /// Moves the pool's evictions of reported blocks into the event list (evictions happen only while allocating,
    /// before the allocation's stores, so the list stays in order).
    private mutating func flushRemovals() {
        guard !pool.removedHashes.isEmpty else { return }
        let removed = pool.removedHashes.filter { reported.remove($0) != nil }
        pool.removedHashes.removeAll(keepingCapacity: true)
        if !removed.isEmpty { events.append(.blockRemoved(hashes: removed.map(\.external))) }
    }

    /// The cache changes since the last call, in the order they happened.
    public mutating func takeEvents() -> [KVCacheEvent] {
        flushRemovals()
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    /// Releases all of a request's blocks, tail first so its shared prefix stays cached longest.
    public mutating func free(_ request: Request) {
        guard let tables = groupBlockTables.removeValue(forKey: request.id) else { return }
        for table in tables { pool.release(table.reversed().filter { $0 >= 0 }) }
    }

    /// The first block a sliding window of `window` positions still reaches once `computed` tokens are in the cache.
    func firstNeededBlock(computed: Int, window: Int) -> Int {
        max(0, computed - window + 1) / blockSize
    }

    /// Cross-checks block tables against reference counts; nil when consistent.
    public func invariantViolation() -> String? {
        if let problem = pool.invariantViolation() { return problem }
        var counts: [Int32: Int] = [:]
        for tables in groupBlockTables.values { for table in tables { for block in table where block >= 0 { counts[block, default: 0] += 1 } } }
        for block in 0..<Int32(pool.blockCount) where pool.referenceCount(block) != counts[block, default: 0] {
            return "block \(block) has \(pool.referenceCount(block)) references but appears in \(counts[block, default: 0]) block tables"
        }
        return nil
    }
}
