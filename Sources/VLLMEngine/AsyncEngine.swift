import Dispatch
import Foundation
import Synchronization

/// The engine for concurrent callers: `EngineCore` runs on one dedicated thread that owns all engine state;
/// callers talk to it only through an inbox of commands and per-request output streams.
/// Cancelling a stream (client gone) aborts its request, freeing its blocks before the next step.
public final class AsyncEngine: Sendable {
    enum Command {
        case add(id: Int, prompt: [Int32], parameters: SamplingParameters, priority: Int,
                 continuation: AsyncThrowingStream<RequestOutput, Error>.Continuation)
        case abort(id: Int)
        case shutdown
    }

    /// A consistent view of the engine's state, refreshed after every step (for /metrics and /load).
    public struct Snapshot: Sendable {
        public var running = 0
        public var waiting = 0
        public var kvCacheUsage = 0.0
        public var preemptions = 0
        public var prefixQueryTokens = 0
        public var prefixHitTokens = 0
        public var steps = 0
        public var promptTokens = 0
        public var generationTokens = 0
        public var isAlive = true

        public init() {}
    }

    private let inbox = Mutex<[Command]>([])
    private let wake = DispatchSemaphore(value: 0)
    private let nextID = Atomic<Int>(0)
    private let state = Mutex(Snapshot())
    private let stopped = DispatchSemaphore(value: 0)
    /// Model limits, readable from any thread.
    public let limits: RequestLimits
    public let kvCacheBlockCount: Int

    /// Takes ownership of `core` and starts its loop thread.
    public init(core: sending EngineCore) {
        limits = core.limits
        kvCacheBlockCount = core.kvCacheBlockCount
        let owner = LoopOwner(core: core)
        let thread = Thread { [self] in runLoop(owner.core) }
        thread.name = "vllm-engine"
        thread.stackSize = 8 << 20
        thread.start()
    }

    public var snapshot: Snapshot { state.withLock { $0 } }

    /// Queues a request and returns its outputs as they are produced; the stream ends after the output
    /// that carries a finish reason, or throws if the engine stops first.
    public func submit(promptTokenIDs: [Int32], parameters: SamplingParameters, priority: Int = 0) -> AsyncThrowingStream<RequestOutput, Error> {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncThrowingStream<RequestOutput, Error>.makeStream()
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.send(.abort(id: id)) }
        }
        send(.add(id: id, prompt: promptTokenIDs, parameters: parameters, priority: priority, continuation: continuation))
        return stream
    }

    /// Aborts every request and stops the loop; returns when the loop has exited.
    public func shutdown() {
        send(.shutdown)
        stopped.wait()
    }

    private func send(_ command: Command) {
        inbox.withLock { $0.append(command) }
        wake.signal()
    }

    private func runLoop(_ core: EngineCore) {
        var streams: [Int: AsyncThrowingStream<RequestOutput, Error>.Continuation] = [:]
        var running = true
        while running {
            let commands = inbox.withLock { commands -> [Command] in defer { commands.removeAll() }; return commands }
            for command in commands {
                switch command {
                case .add(let id, let prompt, let parameters, let priority, let continuation):
                    do {
                        try core.add(id: id, promptTokenIDs: prompt, parameters: parameters, priority: priority)
                        streams[id] = continuation
                    } catch {
                        continuation.finish(throwing: error)
                    }
                case .abort(let id):
                    if streams.removeValue(forKey: id) != nil { core.abort(id: id) }
                case .shutdown:
                    running = false
                }
            }
            if !running { break }
            if core.hasWork {
                for output in core.step() {
                    guard let continuation = streams[output.requestID] else { continue }
                    continuation.yield(output)
                    if output.isFinished {
                        continuation.finish()
                        streams[output.requestID] = nil
                    }
                }
                publish(core)
            } else {
                publish(core)
                wake.wait()
            }
        }
        for (id, continuation) in streams {
            core.abort(id: id)
            continuation.finish(throwing: EngineError("the engine is shutting down"))
        }
        state.withLock { $0.isAlive = false }
        stopped.signal()
    }

    private func publish(_ core: EngineCore) {
        let s = core.scheduler
        state.withLock {
            $0.running = s.running.count
            $0.waiting = s.waiting.count
            $0.kvCacheUsage = s.cache.pool.usage
            $0.preemptions = s.preemptionCount
            $0.prefixQueryTokens = s.cache.prefixQueryTokens
            $0.prefixHitTokens = s.cache.prefixHitTokens
            $0.steps += 1
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
