/// All KV blocks, allocated up front: reference counts, the free queue (least recently freed first, so
/// eviction is LRU), and the prefix cache mapping block hashes to blocks. Knows block ids, counts and
/// hashes only, never tensors. A freed block keeps its hash and can be hit again until it is reused.
public struct BlockPool: Sendable {
    public let blockCount: Int
    public let cachingEnabled: Bool
    private var referenceCounts: [Int32]
    private var hashes: [BlockHash?]
    /// Doubly linked free queue over block ids; -1 ends the list.
    private var previous: [Int32], next: [Int32]
    private var head: Int32 = -1, tail: Int32 = -1
    public private(set) var freeCount: Int
    private var cached: [BlockHash: Int32] = [:]
    /// When set, hashes that leave the cache are collected in `removedHashes` (for KV events).
    public var recordsRemovals = false
    /// Hashes evicted since the caller last emptied this (only while `recordsRemovals`).
    public var removedHashes: [BlockHash] = []

    public init(blockCount: Int, cachingEnabled: Bool = true) {
        precondition(blockCount > 0, "the KV cache needs at least one block")
        self.blockCount = blockCount
        self.cachingEnabled = cachingEnabled
        referenceCounts = Array(repeating: 0, count: blockCount)
        hashes = Array(repeating: nil, count: blockCount)
        previous = Array(repeating: -1, count: blockCount)
        next = Array(repeating: -1, count: blockCount)
        freeCount = 0
        for block in 0..<Int32(blockCount) { pushBack(block) }
    }

    /// Fraction of blocks in use (0...1).
    public var usage: Double { Double(blockCount - freeCount) / Double(blockCount) }

    public func referenceCount(_ block: Int32) -> Int { Int(referenceCounts[Int(block)]) }

    /// How many hashes the prefix cache holds.
    public var cachedCount: Int { cached.count }

    /// The cached block holding `hash`, if any (it may be free, waiting for reuse).
    public func cachedBlock(_ hash: BlockHash) -> Int32? { cachingEnabled ? cached[hash] : nil }

    /// Takes `count` blocks from the front of the free queue, evicting their cached hashes. Nil if too few.
    public mutating func allocate(_ count: Int) -> [Int32]? {
        guard count <= freeCount else { return nil }
        var out: [Int32] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            let block = head
            remove(block)
            evict(block)
            referenceCounts[Int(block)] = 1
            out.append(block)
        }
        return out
    }

    /// Adds a reference to blocks found in the prefix cache, taking free ones out of the free queue.
    public mutating func touch(_ blocks: [Int32]) {
        for block in blocks {
            if referenceCounts[Int(block)] == 0 { remove(block) }
            referenceCounts[Int(block)] += 1
        }
    }

    /// Drops one reference from each block; blocks reaching zero join the back of the free queue in the
    /// order given (callers pass a request's blocks tail first, so its prefix is evicted last).
    public mutating func release(_ blocks: some Sequence<Int32>) {
        for block in blocks {
            precondition(referenceCounts[Int(block)] > 0, "block \(block) released twice")
            referenceCounts[Int(block)] -= 1
            if referenceCounts[Int(block)] == 0 { pushBack(block) }
        }
    }

    /// Records that `block` holds the full block `hash` (first writer wins for a given hash). True when the hash
    /// was not cached before.
    @discardableResult
    public mutating func cache(_ block: Int32, as hash: BlockHash) -> Bool {
        guard cachingEnabled, hashes[Int(block)] == nil else { return false }
        hashes[Int(block)] = hash
        guard cached[hash] == nil else { return false }
        cached[hash] = block
        return true
    }

    /// Forgets every cached hash (e.g. after a model reset); blocks in use keep their contents.
    public mutating func resetPrefixCache() {
        cached.removeAll()
        for i in hashes.indices { hashes[i] = nil }
    }

    private mutating func evict(_ block: Int32) {
        if let hash = hashes[Int(block)] {
            if cached[hash] == block {
                cached[hash] = nil
                if recordsRemovals { removedHashes.append(hash) }
            }
            hashes[Int(block)] = nil
        }
    }

    private mutating func pushBack(_ block: Int32) {
        previous[Int(block)] = tail
        next[Int(block)] = -1
        if tail >= 0 { next[Int(tail)] = block } else { head = block }
        tail = block
        freeCount += 1
    }

    private mutating func remove(_ block: Int32) {
        let p = previous[Int(block)], n = next[Int(block)]
        if p >= 0 { next[Int(p)] = n } else { head = n }
        if n >= 0 { previous[Int(n)] = p } else { tail = p }
        previous[Int(block)] = -1
        next[Int(block)] = -1
        freeCount -= 1
    }

    /// Checks the pool's invariants: the free queue holds exactly the blocks with no references, once each,
    /// and every cached hash points at a block that carries it. Returns a description of the first violation.
    public func invariantViolation() -> String? {
        var seen = Set<Int32>()
        var block = head
        var last: Int32 = -1
        while block >= 0 {
            if !seen.insert(block).inserted { return "block \(block) is in the free queue twice" }
            if referenceCounts[Int(block)] != 0 { return "free block \(block) has \(referenceCounts[Int(block)]) references" }
            if previous[Int(block)] != last { return "free queue links broken at block \(block)" }
            last = block
            block = next[Int(block)]
        }
        if last != tail { return "free queue tail is \(tail), walked to \(last)" }
        if seen.count != freeCount { return "free count \(freeCount) but \(seen.count) blocks in the queue" }
        for b in 0..<Int32(blockCount) where referenceCounts[Int(b)] == 0 && !seen.contains(b) {
            return "block \(b) has no references but is not free"
        }
        for (hash, b) in cached where hashes[Int(b)] != hash { return "cached hash points at block \(b), which does not carry it" }
        return nil
    }
}
