import Testing
import VLLMEngine

/// The scheduler under a KV budget of a few blocks: every preemption path (a running request preempted by another's
/// growth, a prompt preempted mid-way through chunked prefill, recomputation with prefix-cache hits, the priority
/// policy) must run every request to completion with the output it has without preemption, and free every block.
/// A request the whole cache cannot hold must end with `.length`, never wedge the queue behind it.
struct PreemptionTests {
    /// What a run saw: outputs and finish reasons by request id, and which preemption paths it took.
    struct Run {
        var outputs: [Int: [Int32]] = [:]
        var reasons: [Int: FinishReason] = [:]
        var steps = 0
        var midPromptPreemptions = 0
        var decodePreemptions = 0
        var recomputedWithHits = 0
    }

    /// Steps `scheduler` to the end with the fake model of `SchedulerHarness` (the next token depends only on
    /// the request and position), checking invariants after every step; stops after `maxSteps`.
    static func drive(_ scheduler: inout Scheduler, maxSteps: Int = 20_000) -> Run {
        var run = Run()
        while scheduler.hasWork, run.steps < maxSteps {
            let before = Dictionary(uniqueKeysWithValues: scheduler.running.map { ($0.id, $0.computedTokenCount) })
            let batch = scheduler.schedule()
            run.steps += 1
            #expect(scheduler.invariantViolation() == nil, "after schedule: \(scheduler.invariantViolation() ?? "")")
            // Progress every step: an empty step with work left is how the wedge spun a core.
            #expect(!batch.isEmpty || !batch.finished.isEmpty, "step \(run.steps) scheduled nothing and ended nothing")
            for victim in batch.preempted {
                if before[victim.id, default: 0] < victim.promptTokenIDs.count { run.midPromptPreemptions += 1 } else { run.decodePreemptions += 1 }
            }
            for entry in batch.entries where entry.request.preemptionCount > 0 && entry.startPosition > 0 && before[entry.request.id] == nil {
                run.recomputedWithHits += 1  // re-admitted after preemption, resuming past cached blocks
            }
            for request in batch.finished {
                run.outputs[request.id] = Array(request.outputTokenIDs)
                if case .finished(let reason) = request.status { run.reasons[request.id] = reason }
            }
            let sampled: [Int32?] = batch.entries.map { $0.samples ? SchedulerHarness.token($0.request, $0.request.tokenCount) : nil }
            let done = scheduler.update(batch, sampled: sampled) { request, _ in
                request.tokenCount >= request.maxTotalTokens ? .length : nil
            }
            for request in done {
                run.outputs[request.id] = Array(request.outputTokenIDs)
                if case .finished(let reason) = request.status { run.reasons[request.id] = reason }
            }
            #expect(scheduler.invariantViolation() == nil, "after update: \(scheduler.invariantViolation() ?? "")")
        }
        return run
    }

    /// 8 blocks of 4 tokens (32 slots) for 30 requests of up to 32 tokens each; a third share an 8-token prefix;
    /// priorities vary (lower first under `.priority`).
    static func workload() -> [(id: Int, prompt: [Int32], maxTokens: Int, priority: Int)] {
        let shared: [Int32] = [90, 91, 92, 93, 94, 95, 96, 97]
        return (0..<30).map { id in
            let own = (0..<(1 + (id * 7) % 12)).map { Int32((id * 13 + $0 * 5) % 89) }
            let prompt = (id % 3 == 0 ? shared : []) + own
            return (id, prompt, min(32 - prompt.count, 4 + (id * 5) % 17), (id * 11) % 4)
        }
    }

    @Test(arguments: [(SchedulerConfiguration.Policy.fcfs, true, true), (.fcfs, false, true), (.fcfs, true, false),
                      (.priority, true, true), (.priority, false, false)])
    func everyRequestFinishesUnderAFewBlocks(_ policy: SchedulerConfiguration.Policy, _ caching: Bool, _ chunked: Bool) {
        let configuration = SchedulerConfiguration(maxBatchedTokens: 8, maxRunningRequests: 16, policy: policy,
                                                   maxModelLength: 32, chunkedPrefill: chunked)
        var scheduler = Scheduler(configuration: configuration, cache: KVCacheManager(blockCount: 8, blockSize: 4, cachingEnabled: caching))
        let requests = Self.workload()
        for r in requests {
            var parameters = SamplingParameters()
            parameters.maxTokens = r.maxTokens
            scheduler.add(Request(id: r.id, promptTokenIDs: r.prompt, parameters: parameters, maxModelLength: 32, priority: r.priority))
        }
        let run = Self.drive(&scheduler)
        #expect(run.steps < 20_000, "the scheduler wedged")
        #expect(run.reasons.count == requests.count && run.reasons.values.allSatisfy { $0 == .length })
        for r in requests {
            #expect(run.outputs[r.id] == expectedOutput(id: r.id, promptCount: r.prompt.count, maxTokens: r.maxTokens),
                    "request \(r.id): the same output as without preemption")
        }
        #expect(run.decodePreemptions > 0, "running requests are preempted by others' growth")
        if chunked { #expect(run.midPromptPreemptions > 0, "a prompt is preempted part-way through its prefill") }
        if caching { #expect(run.recomputedWithHits > 0 && scheduler.cache.prefixHitTokens > 0, "recomputation hits the prefix cache") }
        #expect(scheduler.cache.pool.freeCount == 8 && scheduler.cache.blockTables.isEmpty, "every block is free at the end")
        #expect(scheduler.running.isEmpty && scheduler.waiting.isEmpty)
    }

    /// 4 blocks of 4 tokens: a request growing past 16 tokens cannot fit even alone. Before, it preempted itself
    /// and then waited at the head of the queue forever (every request behind it hung while the loop spun); now
    /// it ends with `.length` once the cache is full, and so does a prompt longer than the cache, and the
    /// requests behind them complete.
    @Test(arguments: [true, false])
    func aRequestTheWholeCacheCannotHoldEndsWithLength(_ chunked: Bool) {
        let configuration = SchedulerConfiguration(maxBatchedTokens: 8, maxModelLength: 1024, chunkedPrefill: chunked)
        var scheduler = Scheduler(configuration: configuration, cache: KVCacheManager(blockCount: 4, blockSize: 4, cachingEnabled: true))
        let specs: [(prompt: Int, maxTokens: Int)] = [(6, 40), (3, 3), (20, 2), (2, 5)]
        for (id, spec) in specs.enumerated() {
            var parameters = SamplingParameters()
            parameters.maxTokens = spec.maxTokens
            scheduler.add(Request(id: id, promptTokenIDs: (0..<spec.prompt).map { Int32($0 + id) }, parameters: parameters, maxModelLength: 1024))
        }
        let run = Self.drive(&scheduler, maxSteps: 2_000)
        #expect(run.steps < 2_000, "the scheduler wedged")
        #expect(run.reasons == [0: .length, 1: .length, 2: .length, 3: .length])
        // 16 slots hold the 6-token prompt and 10 generated tokens; the 11th is sampled from the last slot.
        #expect(run.outputs[0] == expectedOutput(id: 0, promptCount: 6, maxTokens: 11))
        #expect(run.outputs[1] == expectedOutput(id: 1, promptCount: 3, maxTokens: 3))
        #expect(run.outputs[2] == [], "a prompt longer than the cache ends without output")
        #expect(run.outputs[3] == expectedOutput(id: 3, promptCount: 2, maxTokens: 5))
        #expect(scheduler.cache.pool.freeCount == 4 && scheduler.cache.blockTables.isEmpty)
    }

    /// Under the priority policy the victim is the running request of lowest priority (vLLM's rule), not the newest:
    /// a high-priority request admitted last keeps running while an older low-priority one is preempted.
    @Test func thePriorityPolicyPreemptsTheLowestPriority() {
        let configuration = SchedulerConfiguration(maxBatchedTokens: 64, maxRunningRequests: 8, policy: .priority, maxModelLength: 64)
        var scheduler = Scheduler(configuration: configuration, cache: KVCacheManager(blockCount: 7, blockSize: 4, cachingEnabled: false))
        var parameters = SamplingParameters()
        parameters.maxTokens = 12
        func add(_ id: Int, priority: Int) {
            scheduler.add(Request(id: id, promptTokenIDs: (0..<7).map { Int32($0 + id) }, parameters: parameters, maxModelLength: 64,
                                  priority: priority))
        }
        func step() -> [Int] {
            let batch = scheduler.schedule()
            #expect(scheduler.invariantViolation() == nil)
            let sampled: [Int32?] = batch.entries.map { $0.samples ? 1 : nil }
            _ = scheduler.update(batch, sampled: sampled) { request, _ in request.tokenCount >= request.maxTotalTokens ? .length : nil }
            return batch.preempted.map(\.id)
        }
        // Two blocks each: request 0 (priority 1) and 1 (priority 5) run, then 2 (priority 0, the most urgent)
        // joins; when 0 and 1 each need a third block, only one is left.
        add(0, priority: 1)
        add(1, priority: 5)
        #expect(step().isEmpty)
        add(2, priority: 0)
        #expect(step().isEmpty)
        #expect(scheduler.running.map(\.id) == [0, 1, 2])
        #expect(step() == [1], "the priority-5 request is preempted, not the newest (priority 0)")
        var steps = 0
        while scheduler.hasWork && steps < 1_000 { _ = step(); steps += 1 }
        #expect(scheduler.cache.pool.freeCount == 7)
    }
}
