import Dispatch
import Foundation
import Synchronization

/// Threads for a request's CPU-heavy work: decoding a large JSON body, tokenizing a long prompt, detokenizing a long
/// list of ids. Run inline, such work holds one of Swift's cooperative threads (two on a two-core machine) for
/// seconds, and every other request, `/health` included, waits behind it; here the operating system shares the
/// cores between it and the HTTP threads instead, as chat templates are rendered on their own threads
/// (`TemplateThreads`). Small work runs inline: a thread hop costs more than tokenizing a short prompt.
final class WorkThreads: Sendable {
    /// Half the cores, at least two.
    static let shared = WorkThreads(threads: max(2, ProcessInfo.processInfo.activeProcessorCount / 2))

    /// Work smaller than this (bytes of text, or token ids) runs on the caller's thread.
    static let inlineLimit = 16 << 10

    private let queue = Mutex<[@Sendable () -> Void]>([])
    private let available = DispatchSemaphore(value: 0)
    /// The pool's threads (`pthread_self()`), for `isWorkThread` (Foundation's thread names are set racily on Linux).
    private let members = Mutex<Set<UInt>>([])

    init(threads: Int) {
        for i in 0..<threads {
            Thread { [self] in
                // Named from inside: on Linux a name set before `start()` is not applied (a name for debuggers only).
                Thread.current.name = "request-work-\(i)"
                members.withLock { _ = $0.insert(UInt(pthread_self())) }
                serve()
            }.start()
        }
    }

    private func serve() {
        while true {
            available.wait()
            guard let job = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
            job()
        }
    }

    /// Whether the caller runs on one of the pool's threads.
    var isWorkThread: Bool {
        let current = UInt(pthread_self())
        return members.withLock { $0.contains(current) }
    }

    /// Runs `work` on a work thread when `size` is at least `inlineLimit`, inline otherwise, and returns its result
    /// without blocking the caller's thread.
    func run<T: Sendable>(size: Int, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        if size < Self.inlineLimit { return try work() }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            queue.withLock { $0.append { continuation.resume(with: Result { try work() }) } }
            available.signal()
        }
    }

    /// `run` for work that cannot fail.
    func run<T: Sendable>(size: Int, _ work: @escaping @Sendable () -> T) async -> T {
        if size < Self.inlineLimit { return work() }
        return await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            queue.withLock { $0.append { continuation.resume(returning: work()) } }
            available.signal()
        }
    }
}
