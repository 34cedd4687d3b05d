import CVLLMKernels

/// A fixed pool of persistent worker threads (the caller is one of them). Workers spin briefly between
/// parallel regions, then sleep, so a step's many small regions cost no thread wake-ups.
///
/// One caller at a time: the engine's loop thread owns the pool. It is `Sendable` only so that the owner
/// can be handed from the thread that built it to the thread that runs it.
public final class ThreadPool: @unchecked Sendable {
    private let handle: OpaquePointer

    /// The number of threads taking part in each parallel region, the caller included.
    public let threadCount: Int

    /// Creates a pool of `threadCount` threads (default: one per core).
    public init(threadCount: Int = ThreadPool.coreCount) {
        let count = max(1, threadCount)
        self.threadCount = count
        handle = vk_pool_create(Int32(count))
    }

    deinit { vk_pool_destroy(handle) }

    /// The number of cores this process may run on.
    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Runs `body(task)` for every task in `0..<count` across the pool and returns when all are done.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || threadCount == 1 {
            for task in 0..<count { body(task) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            // The tasks borrow the closure from a box they do not retain: copying it out of memory per task
            // retained and released its context on both cores (2.6% of a decode step, contended atomics).
            let box = TaskBody(escapable)
            withExtendedLifetime(box) {
                vk_pool_run(handle, { context, task in
                    Unmanaged<TaskBody>.fromOpaque(context!)._withUnsafeGuaranteedRef { $0.run(Int(task)) }
                }, Unmanaged.passUnretained(box).toOpaque(), Int64(count))
            }
        }
    }

    /// Runs `body(item)` for every item in `0..<count`, `perTask` consecutive items a task (one task an item costs
    /// an atomic and a closure call each), on the calling thread alone below `serialBelow` items.
    public func forEachItem(_ count: Int, perTask: Int = 8, serialBelow: Int = 16, _ body: (Int) -> Void) {
        if count < serialBelow {
            for item in 0..<count { body(item) }
            return
        }
        parallelFor((count + perTask - 1) / perTask) { task in
            for item in (task * perTask)..<min(count, (task + 1) * perTask) { body(item) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A parallel region's body, held by the region for its duration.
private final class TaskBody {
    let run: (Int) -> Void
    init(_ run: @escaping (Int) -> Void) { self.run = run }
}
