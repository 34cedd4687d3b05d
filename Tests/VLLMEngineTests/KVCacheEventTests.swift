import Testing
import VLLMEngine

/// The KV events a router would consume (vLLM's BlockStored / BlockRemoved) describe the prefix cache exactly: a
/// subscriber that replays them from the start knows every cached block, its tokens (through the parent chain), and
/// nothing that was evicted, at every step, through sharing, eviction and preemption.
struct KVCacheEventTests {
    /// A subscriber's view: each cached block's external hash → the whole token prefix it ends.
    struct View {
        var prefixes: [UInt64: [Int32]] = [:]

        mutating func apply(_ event: KVCacheEvent, blockSize: Int) {
            switch event {
            case let .blockStored(hashes, parent, tokens, size):
                #expect(size == blockSize && tokens.count == hashes.count * blockSize)
                var prefix: [Int32] = []
                if let parent {
                    guard let known = prefixes[parent] else { Issue.record("parent \(parent) was never stored"); return }
                    prefix = known
                }
                for (i, hash) in hashes.enumerated() {
                    prefix += tokens[(i * blockSize)..<((i + 1) * blockSize)]
                    #expect(prefixes[hash] == nil, "block \(hash) stored twice without a removal")
                    prefixes[hash] = prefix
                }
            case let .blockRemoved(hashes):
                for hash in hashes { #expect(prefixes.removeValue(forKey: hash) != nil, "removed \(hash) was never stored") }
            case .allBlocksCleared:
                prefixes.removeAll()
            }
        }
    }

    @Test func aSubscriberReplayingTheEventsKnowsTheCacheAtEveryStep() {
        let blockSize = 4
        var h = SchedulerHarness(blocks: 24, blockSize: blockSize, budget: 32, maxSeqs: 4)
        h.scheduler.recordsKVCacheEvents = true
        var view = View()
        var parameters = SamplingParameters()
        parameters.maxTokens = 6
        let shared: [[Int32]] = [Array(0..<13), Array(50..<61), Array(20..<29)]
        var id = 0, stores = 0, removals = 0
        for round in 0..<6 {
            for (k, prefix) in shared.enumerated() {
                id += 1
                h.scheduler.add(Request(id: id, promptTokenIDs: prefix + [Int32(90 + round), Int32(k)], parameters: parameters,
                                        maxModelLength: 1024))
            }
            while h.scheduler.hasWork {
                let batch = h.scheduler.schedule()
                let sampled: [Int32?] = batch.entries.map { $0.samples ? SchedulerHarness.token($0.request, $0.request.tokenCount) : nil }
                _ = h.scheduler.update(batch, sampled: sampled) { request, _ in request.tokenCount >= request.maxTotalTokens ? .length : nil }
                for event in h.scheduler.takeKVCacheEvents() {
                    if case .blockStored = event { stores += 1 } else { removals += 1 }
                    view.apply(event, blockSize: blockSize)
                }
                let pool = h.scheduler.cache.pool
                #expect(view.prefixes.count == pool.cachedCount, "the view holds exactly the cached blocks")
                for (hash, prefix) in view.prefixes {
                    var chained: BlockHash? = nil
                    for b in 0..<(prefix.count / blockSize) {
                        chained = BlockHash(parent: chained, tokens: prefix[(b * blockSize)..<((b + 1) * blockSize)])
                    }
                    #expect(chained?.external == hash, "the tokens the events gave are the block's")
                    #expect(chained.flatMap(pool.cachedBlock) != nil, "block \(hash) is still cached")
                }
            }
        }
        #expect(stores > 0 && removals > 0, "the workload stored and evicted (\(stores) stores, \(removals) removals)")
    }

    @Test func nothingIsCollectedUnlessAsked() {
        var h = SchedulerHarness(blocks: 16, blockSize: 4)
        h.scheduler.add(Request(id: 1, promptTokenIDs: Array(0..<12), parameters: SamplingParameters(maxTokens: 2), maxModelLength: 64))
        h.run()
        #expect(h.scheduler.takeKVCacheEvents().isEmpty)
    }
}
