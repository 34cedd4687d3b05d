import Dispatch
import Foundation
import Synchronization

/// The engine for concurrent callers: `EngineCore` runs on one dedicated thread that owns all engine state;
/// callers talk to it only through an inbox of commands and per-request output streams.
/// Cancelling a stream (client gone) aborts its request, freeing its blocks before the next step.
public final class AsyncEngine: Sendable {
    typealias Continuation = AsyncThrowingStream<RequestOutput, Error>.Continuation

    enum Command {
        /// `pooling` set: an embedding request (`EngineCore.addPooling`), else generation.
        case add(id: Int, prompt: [Int32], parameters: SamplingParameters, pooling: PoolingParameters?, priority: Int,
                 queuedAt: ContinuousClock.Instant, continuation: Continuation)
        case abort(id: Int)
        /// Runs on the loop thread between two steps.
        case inspect(@Sendable (EngineCore) -> Void)
        case shutdown
    }

    /// Commands the loop has not taken yet; `closed` once the loop has exited, after which sends are refused.
    struct Inbox {
        var commands: [Command] = []
        /// Adds sent but not yet published as waiting requests (counted in `snapshot.waiting`).
        var pendingAdds = 0
        var closed = false
    }

    private let inbox = Mutex(Inbox())
    private let wake = DispatchSemaphore(value: 0)
    private let nextID = Atomic<Int>(0)
    private let accepting = Atomic<Bool>(true)
    private let state = Mutex(Snapshot())
    private let stopped = DispatchSemaphore(value: 0)
    /// The core, for inspections once the loop has exited (`exited` true); the lock serialises them.
    private let owner: LoopOwner
    private let exited = Mutex(false)
    /// Model limits, readable from any thread.
    public let limits: RequestLimits
    public let kvCacheBlockCount: Int
    /// Whether the engine runs a pooling model (embeddings) instead of generating.
    public let isPooling: Bool
    /// Compiles output constraints from any thread (nil for a pooling model).
    public let structuredOutputs: StructuredOutputManager?

    /// Receives each step's prefix-cache changes on the engine thread (it must not block: hand them on).
    private let kvCacheEvents: (@Sendable ([KVCacheEvent]) -> Void)?
    /// Receives each step's token count (prompt and generated) on the engine thread: `vllm:iteration_tokens_total`.
    private let stepTokens: (@Sendable (Int) -> Void)?

    /// Takes ownership of `core` and starts its loop thread.
    /// - Parameter kvCacheEvents: called after each step that changed the prefix cache, with the changes, when
    ///   the core collects them (`EngineOptions.enableKVCacheEvents`).
    /// - Parameter stepTokens: called after each step that computed tokens, with their count (it must not block).
    public init(core: sending EngineCore, kvCacheEvents: (@Sendable ([KVCacheEvent]) -> Void)? = nil,
                stepTokens: (@Sendable (Int) -> Void)? = nil) {
        self.kvCacheEvents = kvCacheEvents
        self.stepTokens = stepTokens
        limits = core.limits
        kvCacheBlockCount = core.kvCacheBlockCount
        isPooling = core.isPooling
        structuredOutputs = core.structuredOutputs
        let owner = LoopOwner(core: core)
        self.owner = owner
        let thread = Thread { [self] in runLoop(owner.core) }
        thread.name = "vllm-engine"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// The engine's state as of its last step, with submissions it has not taken in yet counted as waiting.
    public var snapshot: Snapshot {
        // The inbox first: the loop publishes new waiting requests before it stops counting them as pending,
        // so a request is counted at least once whatever the interleaving.
        let pending = inbox.withLock { $0.pendingAdds }
        var s = state.withLock { $0 }
        s.waiting += pending
        s.isAcceptingRequests = s.isAlive && accepting.load(ordering: .relaxed)
        return s
    }

    /// Queues a request and returns its outputs as they are produced; the stream ends after the output
    /// that carries a finish reason, or throws if the engine stops first (`EngineError.shuttingDown`).
    public func submit(promptTokenIDs: [Int32], parameters: SamplingParameters, priority: Int = 0) -> AsyncThrowingStream<RequestOutput, Error> {
        submit(promptTokenIDs: promptTokenIDs, parameters: parameters, pooling: nil, priority: priority)
    }

    /// Queues a pooling (embedding) request: its stream yields one output, carrying `embedding`, then ends.
    public func submitPooling(promptTokenIDs: [Int32], parameters: PoolingParameters, priority: Int = 0) -> AsyncThrowingStream<RequestOutput, Error> {
        submit(promptTokenIDs: promptTokenIDs, parameters: SamplingParameters(maxTokens: 1), pooling: parameters, priority: priority)
    }

    private func submit(promptTokenIDs: [Int32], parameters: SamplingParameters, pooling: PoolingParameters?,
                        priority: Int) -> AsyncThrowingStream<RequestOutput, Error> {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncThrowingStream<RequestOutput, Error>.makeStream()
        guard accepting.load(ordering: .relaxed) else {
            continuation.finish(throwing: EngineError.shuttingDown)
            return stream
        }
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.send(.abort(id: id)) }
        }
        if !send(.add(id: id, prompt: promptTokenIDs, parameters: parameters, pooling: pooling, priority: priority,
                      queuedAt: .now, continuation: continuation)) {
            continuation.finish(throwing: EngineError.shuttingDown)
        }
        return stream
    }

    /// Runs `body` on the engine thread between two steps and returns its result: a consistent look at the
    /// state the loop owns (scheduler, block pool), for diagnostics and tests. After the loop has stopped,
    /// `body` sees the final state.
    public func inspect<T: Sendable>(_ body: @escaping @Sendable (EngineCore) -> T) async -> T {
        // Empty when the inbox was closed (an array rather than an optional, so that T may itself be optional).
        let queued: [T] = await withCheckedContinuation { continuation in
            if !send(.inspect { continuation.resume(returning: [body($0)]) }) { continuation.resume(returning: []) }
        }
        if let value = queued.first { return value }
        // The loop has closed its inbox: once it has exited, nothing else touches the core.
        while true {
            if let value = exited.withLock({ done in done ? [body(owner.core)] : [] }).first { return value }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Stops taking requests (`submit` fails with `EngineError.shuttingDown`), gives the ones in flight up to
    /// `timeout` to finish, then aborts the rest and stops the loop: vLLM's `--shutdown-timeout` (0 aborts at once).
    public func drain(timeout: Duration) async {
        accepting.store(false, ordering: .relaxed)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !Task.isCancelled {
            let s = snapshot
            guard s.isAlive, s.running + s.waiting > 0 else { break }
            try? await Task.sleep(for: .milliseconds(10))
        }
        // `shutdown()` blocks until the loop exits (at most one step): keep it off the cooperative pool.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { self.shutdown(); done.resume() }
        }
    }

    /// Aborts every request and stops the loop; returns when the loop has exited. Later submissions fail.
    public func shutdown() {
        accepting.store(false, ordering: .relaxed)
        if send(.shutdown) { stopped.wait() }
    }

    @discardableResult
    private func send(_ command: Command) -> Bool {
        let sent = inbox.withLock { inbox -> Bool in
            guard !inbox.closed else { return false }
            inbox.commands.append(command)
            if case .add = command { inbox.pendingAdds += 1 }
            return true
        }
        if sent { wake.signal() }
        return sent
    }

    private func runLoop(_ core: EngineCore) {
        var streams: [Int: Continuation] = [:]
        var stopRequests = 0
        while stopRequests == 0 {
            let commands = inbox.withLock { inbox -> [Command] in defer { inbox.commands.removeAll() }; return inbox.commands }
            var added = 0
            for command in commands {
                switch command {
                case .add(let id, let prompt, let parameters, let pooling, let priority, let queuedAt, let continuation):
                    added += 1
                    do {
                        if let pooling {
                            try core.addPooling(id: id, promptTokenIDs: prompt, parameters: pooling, priority: priority)
                        } else {
                            try core.add(id: id, promptTokenIDs: prompt, parameters: parameters, priority: priority, queuedAt: queuedAt)
                        }
                        streams[id] = continuation
                    } catch {
                        continuation.finish(throwing: error)
                    }
                case .abort(let id):
                    if streams.removeValue(forKey: id) != nil { core.abort(id: id) }
                case .inspect(let body):
                    body(core)
                case .shutdown:
                    stopRequests += 1
                }
            }
            if added > 0 {
                publish(core, stepped: false)
                inbox.withLock { $0.pendingAdds -= added }
            }
            if stopRequests > 0 { break }
            if core.hasWork {
                for output in core.step() {
                    guard let continuation = streams[output.requestID] else { continue }
                    continuation.yield(output)
                    if output.isFinished {
                        continuation.finish()
                        streams[output.requestID] = nil
                    }
                }
                if let stepTokens, core.lastStepTokenCount > 0 { stepTokens(core.lastStepTokenCount) }
                if let kvCacheEvents {
                    let events = core.takeKVCacheEvents()
                    if !events.isEmpty { kvCacheEvents(events) }
                }
                publish(core, stepped: true)
            } else {
                publish(core, stepped: false)
                wake.wait()
            }
        }
        for (id, continuation) in streams {
            core.abort(id: id)
            continuation.finish(throwing: EngineError.shuttingDown)
        }
        publish(core, stepped: false)
        // Close the inbox; whatever arrived meanwhile is refused (inspections see the final state).
        let leftovers = inbox.withLock { inbox -> [Command] in
            inbox.closed = true
            inbox.pendingAdds = 0
            defer { inbox.commands.removeAll() }
            return inbox.commands
        }
        state.withLock { $0.isAlive = false }
        for command in leftovers {
            switch command {
            case .add(_, _, _, _, _, _, let continuation): continuation.finish(throwing: EngineError.shuttingDown)
            case .inspect(let body): body(core)
            case .abort: break
            case .shutdown: stopRequests += 1
            }
        }
        exited.withLock { $0 = true }
        for _ in 0..<stopRequests { stopped.signal() }
    }

    private func publish(_ core: EngineCore, stepped: Bool) {
        let s = core.scheduler
        state.withLock {
            $0.running = s.running.count
            $0.waiting = s.waiting.count
            $0.kvCacheUsage = s.cache.pool.usage
            $0.preemptions = s.preemptionCount
            $0.prefixQueryTokens = s.cache.prefixQueryTokens
            $0.prefixHitTokens = s.cache.prefixHitTokens
            if stepped { $0.steps += 1 }
            $0.promptTokens = core.promptTokensComputed
            $0.generationTokens = core.tokensGenerated
        }
    }
}

/// Hands the engine core to its loop thread; after `init` returns, only that thread touches it.
private final class LoopOwner: @unchecked Sendable {
    let core: EngineCore
    init(core: EngineCore) { self.core = core }
}
