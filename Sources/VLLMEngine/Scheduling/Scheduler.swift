import DequeModule

/// vLLM V1's scheduler as a pure state machine: every step gives each request some of its uncomputed
/// tokens within a token budget, running requests first, then waiting ones. Chunked prefill falls out of
/// the budget; when blocks run out, the newest running request is preempted and recomputed later.
///
/// It never wedges: a request that cannot fit even with the whole cache to itself (only possible when the cache
/// is smaller than one max-length sequence, which the engine refuses at start-up) finishes with `.length` in
/// `ScheduledBatch.finished` instead of being preempted and waiting, at the head of the queue, for room that
/// never comes.
public struct Scheduler {
    public let configuration: SchedulerConfiguration
    public private(set) var cache: KVCacheManager
    public private(set) var waiting: Deque<Request> = []
    public private(set) var running: [Request] = []
    public private(set) var preemptionCount = 0

    public init(configuration: SchedulerConfiguration, cache: KVCacheManager) {
        self.configuration = configuration
        self.cache = cache
    }

    public var hasWork: Bool { !waiting.isEmpty || !running.isEmpty }

    /// Queues a new request.
    /// Whether the KV cache collects `KVCacheEvent`s.
    public var recordsKVCacheEvents: Bool {
        get { cache.recordsEvents }
        set { cache.recordsEvents = newValue }
    }

    /// The prefix cache's changes since the last call, in order.
    public mutating func takeKVCacheEvents() -> [KVCacheEvent] { cache.takeEvents() }

    public mutating func add(_ request: Request) {
        request.status = .waiting
        enqueue(request, atFront: false)
    }

    /// Forms the next step's batch and reserves its KV slots.
    public mutating func schedule() -> ScheduledBatch {
        var batch = ScheduledBatch()
        var budget = configuration.maxBatchedTokens
        // Prompt logprobs need a logits row (a vocabulary of floats) for every prompt token: a step computes at most
        // this many of those tokens, however large its token budget.
        var promptLogitRows = configuration.maxPromptLogprobTokens
        var index = 0
        while index < running.count, budget > 0 {
            let request = running[index]
            let count = newTokenCount(request, budget: budget, promptLogitRows: &promptLogitRows)
            if count == 0 { index += 1; continue }
            var scheduled = false
            while !scheduled {
                if cache.allocate(request, newTokenCount: count) {
                    scheduled = true
                } else if running.count == 1 {
                    // Alone and still out of blocks: the whole cache cannot hold it, now or ever.
                    finish(request, .length)
                    batch.finished.append(request)
                    break
                } else {
                    // Out of blocks: preempt the newest running request, or under the priority policy the one of
                    // lowest priority (latest arrival among equals), as vLLM does; possibly this one. A victim already
                    // scheduled this step gives its tokens back.
                    let v = victimIndex()
                    let victim = running.remove(at: v)
                    if v < index { index -= 1 }
                    if let e = batch.entries.firstIndex(where: { $0.request === victim }) {
                        budget += batch.entries[e].tokenCount
                        batch.entries.remove(at: e)
                    }
                    preempt(victim)
                    batch.preempted.append(victim)
                    if victim === request { break }
                }
            }
            guard scheduled else { break }
            batch.entries.append(.init(request: request, tokenCount: count, startPosition: request.computedTokenCount))
            budget -= count
            index += 1
        }
        // Waiting requests join only if nothing was preempted this step (there was no room).
        while batch.preempted.isEmpty, budget > 0, running.count < configuration.maxRunningRequests, let request = waiting.first {
            // A request that wants prompt logprobs computes its whole prompt (vLLM skips its prefix-cache hits too).
            let hit = request.computedTokenCount == 0 && !request.needsPromptLogits ? cache.cachedPrefix(of: request) : cache.noHit
            let cachedTokens = hit.blockCount * cache.blockSize
            let rowsBefore = promptLogitRows
            let count = newTokenCount(request, budget: budget, alreadyCached: cachedTokens, promptLogitRows: &promptLogitRows)
            // Without chunked prefill a prompt waits until the whole of it fits in one step (a prompt-logprobs
            // request's, until its step's share of logits rows does).
            let remaining = request.tokenCount - request.computedTokenCount - cachedTokens
            let whole = configuration.chunkedPrefill || count == (request.needsPromptLogits ? min(remaining, rowsBefore) : remaining)
            guard count > 0, whole, cache.allocate(request, newTokenCount: count, hit: hit) else {
                // With nothing running the whole cache and budget were free: it can never be scheduled.
                guard running.isEmpty else { promptLogitRows = rowsBefore; break }
                waiting.removeFirst()
                request.status = .finished(.length)
                batch.finished.append(request)
                continue
            }
            waiting.removeFirst()
            if request.preemptionCount == 0 { request.cachedPromptTokenCount = cachedTokens }
            request.computedTokenCount += cachedTokens
            request.status = .running
            if request.scheduledAt == nil { request.scheduledAt = .now }
            running.append(request)
            batch.entries.append(.init(request: request, tokenCount: count, startPosition: request.computedTokenCount))
            budget -= count
        }
        return batch
    }

    /// Records that a step ran: computed counts advance and sampled tokens are appended.
    /// `sampled[i]` is the token for `batch.entries[i]` when that entry samples, else ignored.
    /// Returns the requests that finished (their blocks are already freed).
    public mutating func update(_ batch: ScheduledBatch, sampled: [Int32?], isFinished: (Request, Int32) -> FinishReason?) -> [Request] {
        var finished: [Request] = []
        for (entry, token) in zip(batch.entries, sampled) {
            let request = entry.request
            guard case .running = request.status else { continue }
            request.computedTokenCount = entry.startPosition + entry.tokenCount
            // A pooling request is done once its prompt is computed (prefill only): its blocks are freed now.
            if request.pooling != nil, entry.samples {
                finish(request, .stop)
                finished.append(request)
                continue
            }
            guard entry.samples, let token else { continue }
            request.append(token)
            if let reason = isFinished(request, token) {
                finish(request, reason)
                finished.append(request)
            }
        }
        return finished
    }

    /// Ends a request wherever it is (client gone: `.abort`; stop string found: `.stop`) and frees its blocks.
    @discardableResult
    public mutating func finish(id: Int, reason: FinishReason) -> Request? {
        if let i = running.firstIndex(where: { $0.id == id }) {
            let request = running[i]
            finish(request, reason)
            return request
        }
        if let i = waiting.firstIndex(where: { $0.id == id }) {
            let request = waiting.remove(at: i)
            cache.free(request)
            request.status = .finished(reason)
            return request
        }
        return nil
    }

    /// nil when block tables, reference counts and queues agree.
    public func invariantViolation() -> String? {
        if let problem = cache.invariantViolation() { return problem }
        for request in running where cache.groupBlockTables[request.id] == nil && request.computedTokenCount > 0 {
            return "running request \(request.id) has no block table"
        }
        for request in waiting where cache.groupBlockTables[request.id] != nil {
            return "waiting request \(request.id) still holds blocks"
        }
        if running.count > configuration.maxRunningRequests { return "too many running requests" }
        return nil
    }

    /// The tokens `request` computes this step within `budget`; a request still computing prompt logprobs also takes
    /// them from `promptLogitRows`.
    private func newTokenCount(_ request: Request, budget: Int, alreadyCached: Int = 0, promptLogitRows: inout Int) -> Int {
        var count = request.tokenCount - request.computedTokenCount - alreadyCached
        if configuration.longPrefillTokenThreshold > 0, configuration.chunkedPrefill { count = min(count, configuration.longPrefillTokenThreshold) }
        count = max(0, min(count, budget))
        if request.needsPromptLogits {
            count = min(count, promptLogitRows)
            promptLogitRows -= count
        }
        return count
    }

    /// The running request to preempt: the newest (fcfs), or the lowest priority, latest arrival first (priority).
    private func victimIndex() -> Int {
        guard configuration.policy == .priority else { return running.count - 1 }
        return running.indices.max { (running[$0].priority, running[$0].arrival) < (running[$1].priority, running[$1].arrival) }!
    }

    private mutating func finish(_ request: Request, _ reason: FinishReason) {
        running.removeAll { $0 === request }
        cache.free(request)
        request.status = .finished(reason)
    }

    private mutating func preempt(_ request: Request) {
        cache.free(request)
        request.computedTokenCount = 0
        request.preemptionCount += 1
        preemptionCount += 1
        request.status = .waiting
        enqueue(request, atFront: true)
    }

    private mutating func enqueue(_ request: Request, atFront: Bool) {
        switch configuration.policy {
        case .fcfs:
            if atFront { waiting.prepend(request) } else { waiting.append(request) }
        case .priority:
            let index = waiting.firstIndex { ($0.priority, $0.arrival) > (request.priority, request.arrival) } ?? waiting.endIndex
            waiting.insert(request, at: index)
        }
    }

}
