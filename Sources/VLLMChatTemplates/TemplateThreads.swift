import Dispatch
import Foundation
import Synchronization

/// The threads every template parse and render runs on, whoever asks (the server's endpoints, `LLM.chat`, the CLI).
/// - The threads have a stack of known size, so the sandbox's depth limits (`TemplateLimits`) are safe whatever
///   thread the caller is on.
/// - Awaited renders (the server's) run on a shared pool: off the HTTP event loop and Swift's cooperative threads,
///   so a slow template cannot starve `/health` or other requests, and the server awaits a render without blocking
///   a thread. The pool's size bounds the CPU templates can take; renders beyond it wait in a bounded queue.
/// - Blocking renders (`LLM.chat`, the CLI, parsing) run each on a thread of its own: their caller waits anyway, and
///   they never queue behind the server's renders or hold the pool.
final class TemplateThreads: Sendable {
    /// The pool: a quarter of the cores, two to four threads, of 64 MiB stack each (virtual memory: only the pages a
    /// deep render touches are used; debug builds need about 16 MiB at the deepest nesting the limits allow). A render
    /// takes milliseconds; the bound is for the pathological ones not to take more.
    static let shared = TemplateThreads(threads: min(4, max(2, ProcessInfo.processInfo.activeProcessorCount / 4)),
                                        stackSize: 64 << 20, maxWaiting: 1024)

    /// A queued render: `run` does it, `abandon` answers its waiter instead when it is cancelled while queued.
    private struct Job: Sendable {
        let id: Int
        let run: @Sendable () -> Void
        let abandon: @Sendable () -> Void
    }

    private struct Queue {
        var jobs: [Job] = []
        var nextID = 0
    }

    private let queue = Mutex(Queue())
    private let available = DispatchSemaphore(value: 0)
    private let maxWaiting: Int

    init(threads: Int, stackSize: Int, maxWaiting: Int) {
        self.maxWaiting = maxWaiting
        for i in 0..<threads {
            let thread = Thread { [self] in serve() }
            thread.stackSize = stackSize
            thread.name = "chat-template-\(i)"
            thread.start()
        }
    }

    private func serve() {
        while true {
            available.wait()
            // Empty when the job this signal announced was abandoned.
            guard let job = queue.withLock({ $0.jobs.isEmpty ? nil : $0.jobs.removeFirst() }) else { continue }
            job.run()
        }
    }

    /// Runs `work` on a template thread and awaits its result without blocking the caller's thread. Cancelling the
    /// awaiting task sets `cancellation`, which `work` checks, or, while the render still waits for a thread,
    /// takes it out of the queue at once. Throws (kind `.overloaded`) when `maxWaiting` renders wait already.
    func run<T: Sendable>(cancellation: RenderCancellation, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        let id = queue.withLock { queue in
            queue.nextID += 1
            return queue.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
                let job = Job(id: id, run: { continuation.resume(with: Result { try work() }) },
                              abandon: { continuation.resume(throwing: TemplateError("rendering was cancelled", kind: .limit)) })
                let queued = queue.withLock { queue in
                    guard queue.jobs.count < maxWaiting else { return false }
                    queue.jobs.append(job)
                    return true
                }
                guard queued else {
                    continuation.resume(throwing: TemplateError("\(maxWaiting) chat template renders are waiting already", kind: .overloaded))
                    return
                }
                available.signal()
            }
        } onCancel: {
            cancellation.cancel()
            let abandoned = queue.withLock { queue in
                queue.jobs.firstIndex { $0.id == id }.map { queue.jobs.remove(at: $0) }
            }
            abandoned?.abandon()
        }
    }

    /// Runs `work` on a new thread of `stackSize` bytes of stack, blocking the caller until it is done.
    /// The thread lets go of `work` and of the result before it signals: it may still be exiting (and holding what
    /// it references) after the caller has returned, which LeakSanitizer reports as a leak (tools/fuzz.sh).
    static func runBlocking<T: Sendable>(stackSize: Int = 64 << 20, _ work: @escaping @Sendable () throws -> T) throws -> T {
        let outcome = Outcome<T>(work)
        let thread = Thread {
            do {
                let job = outcome.work.withLock { $0.take() }
                let result = Result { try job!() }
                outcome.result.withLock { $0 = result }
            }
            outcome.done.signal()
        }
        thread.stackSize = stackSize
        thread.name = "chat-template"
        thread.start()
        outcome.done.wait()
        return try outcome.result.withLock { $0.take()! }.get()
    }

    private final class Outcome<T: Sendable>: Sendable {
        let work: Mutex<(@Sendable () throws -> T)?>
        let result = Mutex<Result<T, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)

        init(_ work: @escaping @Sendable () throws -> T) { self.work = Mutex(work) }
    }
}
