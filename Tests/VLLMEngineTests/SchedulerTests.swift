import Testing
import VLLMEngine

/// Drives the scheduler with a fake model whose next token depends only on the request and position,
/// so every request's output is known whatever the batching; checks invariants after every step.
struct SchedulerHarness {
    var scheduler: Scheduler
    var steps = 0
    var maxStepTokens = 0
    var maxRunning = 0
    var finished: [Int: [Int32]] = [:]

    init(blocks: Int, blockSize: Int = 4, budget: Int = 64, maxSeqs: Int = 16, caching: Bool = true, threshold: Int = 0,
         chunked: Bool = true) {
        let configuration = SchedulerConfiguration(maxBatchedTokens: budget, maxRunningRequests: maxSeqs,
                                                   longPrefillTokenThreshold: threshold, maxModelLength: 1024, chunkedPrefill: chunked)
        scheduler = Scheduler(configuration: configuration, cache: KVCacheManager(blockCount: blocks, blockSize: blockSize, cachingEnabled: caching))
    }

    static func token(_ request: Request, _ position: Int) -> Int32 { Int32((request.id * 31 + position * 7) % 97) }

    mutating func run(maxSteps: Int = 10_000) {
        while scheduler.hasWork, steps < maxSteps {
            let batch = scheduler.schedule()
            steps += 1
            #expect(scheduler.invariantViolation() == nil, "after schedule: \(scheduler.invariantViolation() ?? "")")
            maxStepTokens = max(maxStepTokens, batch.tokenCount)
            maxRunning = max(maxRunning, scheduler.running.count)
            let sampled: [Int32?] = batch.entries.map { $0.samples ? Self.token($0.request, $0.request.tokenCount) : nil }
            let done = scheduler.update(batch, sampled: sampled) { request, _ in
                request.tokenCount >= request.maxTotalTokens ? .length : nil
            }
            for r in done { finished[r.id] = Array(r.outputTokenIDs) }
            #expect(scheduler.invariantViolation() == nil, "after update: \(scheduler.invariantViolation() ?? "")")
        }
    }

    mutating func add(id: Int, prompt: [Int32], maxTokens: Int) -> Request {
        var parameters = SamplingParameters()
        parameters.maxTokens = maxTokens
        let request = Request(id: id, promptTokenIDs: prompt, parameters: parameters, maxModelLength: 1024)
        scheduler.add(request)
        return request
    }
}

func expectedOutput(id: Int, promptCount: Int, maxTokens: Int) -> [Int32] {
    (0..<maxTokens).map { Int32((id * 31 + (promptCount + $0) * 7) % 97) }
}

@Test func everyRequestCompletesAndThePoolDrains() {
    var h = SchedulerHarness(blocks: 64, budget: 32)
    var specs: [(Int, Int, Int)] = []
    for id in 0..<20 {
        let promptCount = 1 + (id * 13) % 40, maxTokens = 1 + (id * 7) % 12
        specs.append((id, promptCount, maxTokens))
        _ = h.add(id: id, prompt: (0..<promptCount).map { Int32(($0 + id) % 50) }, maxTokens: maxTokens)
    }
    h.run()
    #expect(h.maxStepTokens <= 32, "the token budget holds")
    for (id, promptCount, maxTokens) in specs {
        #expect(h.finished[id] == expectedOutput(id: id, promptCount: promptCount, maxTokens: maxTokens))
    }
    #expect(h.scheduler.cache.pool.freeCount == 64)
}

@Test func longPromptsArePrefilledInChunks() {
    var h = SchedulerHarness(blocks: 64, budget: 16)
    let r = h.add(id: 1, prompt: Array(repeating: 5, count: 100), maxTokens: 2)
    let first = h.scheduler.schedule()
    #expect(first.entries.count == 1 && first.entries[0].tokenCount == 16 && !first.entries[0].samples)
    _ = h.scheduler.update(first, sampled: [nil]) { _, _ in nil }
    #expect(r.computedTokenCount == 16)
    h.run()
    #expect(h.finished[1]?.count == 2)
}

@Test func withoutChunkedPrefillEachPromptIsComputedInOneStep() {
    // The budget of 16 is raised to the model length (1024), as vLLM does, so the 100-token prompt fits.
    var h = SchedulerHarness(blocks: 64, budget: 16, threshold: 8, chunked: false)
    #expect(h.scheduler.configuration.maxBatchedTokens == 1024)
    _ = h.add(id: 1, prompt: Array(repeating: 5, count: 100), maxTokens: 3)
    let first = h.scheduler.schedule()
    #expect(first.entries.count == 1 && first.entries[0].tokenCount == 100 && first.entries[0].samples)
    // A second prompt that does not fit beside the first in what is left of a small budget waits whole.
    var small = SchedulerConfiguration(maxBatchedTokens: 1024, maxModelLength: 1024, chunkedPrefill: false)
    small.maxBatchedTokens = 120
    var s = Scheduler(configuration: small, cache: KVCacheManager(blockCount: 64, blockSize: 4, cachingEnabled: true))
    for id in 0..<2 {
        var parameters = SamplingParameters()
        parameters.maxTokens = 2
        s.add(Request(id: id, promptTokenIDs: Array(repeating: Int32(3 + id), count: 100), parameters: parameters, maxModelLength: 1024))
    }
    let step = s.schedule()
    #expect(step.entries.map { $0.tokenCount } == [100], "the second prompt is not cut to the 20 tokens left")
    h.run()
    #expect(h.finished[1] == expectedOutput(id: 1, promptCount: 100, maxTokens: 3))
}

@Test func preemptionRecomputesAndLosesNothing() {
    // 12 blocks of 4 tokens cannot hold eight 10-token requests growing to 30 tokens at once.
    var h = SchedulerHarness(blocks: 12, budget: 64)
    for id in 0..<8 { _ = h.add(id: id, prompt: (0..<10).map { Int32($0 + id) }, maxTokens: 20) }
    h.run()
    #expect(h.scheduler.preemptionCount > 0, "the workload must force preemptions")
    for id in 0..<8 { #expect(h.finished[id] == expectedOutput(id: id, promptCount: 10, maxTokens: 20)) }
    #expect(h.scheduler.cache.pool.freeCount == 12)
}

@Test func sharedPrefixIsComputedOnce() {
    var h = SchedulerHarness(blocks: 64, blockSize: 4, budget: 256)
    let prefix = (0..<40).map { Int32($0 % 90) }
    let a = h.add(id: 1, prompt: prefix + [91, 92], maxTokens: 3)
    h.run()
    let b = h.add(id: 2, prompt: prefix + [93], maxTokens: 3)
    let batch = h.scheduler.schedule()
    #expect(a.isFinished)
    #expect(b.cachedPromptTokenCount == 40, "all ten full prefix blocks are hits")
    #expect(batch.entries.first?.tokenCount == 1, "only the uncached token is computed")
    _ = h.scheduler.update(batch, sampled: [7]) { _, _ in nil }
    h.run()
    #expect(h.scheduler.cache.pool.freeCount == 64)
}

@Test func lastPromptTokenIsAlwaysRecomputed() {
    var h = SchedulerHarness(blocks: 16, blockSize: 4)
    _ = h.add(id: 1, prompt: Array(repeating: 3, count: 8), maxTokens: 1)
    h.run()
    let again = h.add(id: 2, prompt: Array(repeating: 3, count: 8), maxTokens: 1)
    let batch = h.scheduler.schedule()
    #expect(again.cachedPromptTokenCount == 4, "the block holding the last prompt token is recomputed")
    #expect(batch.entries.first?.tokenCount == 4)
}

@Test func abortFreesBlocksAtOnce() {
    var h = SchedulerHarness(blocks: 16)
    let r = h.add(id: 1, prompt: Array(repeating: 1, count: 20), maxTokens: 50)
    let batch = h.scheduler.schedule()
    _ = h.scheduler.update(batch, sampled: [4]) { _, _ in nil }
    #expect(h.scheduler.cache.pool.freeCount < 16)
    #expect(h.scheduler.finish(id: 1, reason: .abort) === r)
    #expect(r.status == .finished(.abort))
    #expect(h.scheduler.cache.pool.freeCount == 16 && h.scheduler.invariantViolation() == nil)
}

@Test func maxRunningRequestsIsACap() {
    var h = SchedulerHarness(blocks: 128, budget: 1000, maxSeqs: 3)
    for id in 0..<10 { _ = h.add(id: id, prompt: [1, 2, 3], maxTokens: 4) }
    h.run()
    #expect(h.maxRunning <= 3)
    #expect(h.finished.count == 10)
}
