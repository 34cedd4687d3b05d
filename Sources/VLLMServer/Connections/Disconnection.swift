import NIOCore
import Synchronization

/// Cancels a request's work when its client goes away, streaming or not. A streamed response notices when a write
/// fails; a request still prefilling, queued, or generating a non-streamed answer writes nothing until the end, so
/// the connection's close (the client's close or reset; `ConnectionGuard` turns the end of its input into a close)
/// cancels the work instead. Cancelling ends the generation streams, which aborts their engine requests at the next
/// step.
enum Disconnection {
    /// Runs `work` in a task that is cancelled when `channel` closes (or when the caller is cancelled).
    static func cancelling<T: Sendable>(on channel: any Channel, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await work() }
        // The close callback stays registered until the connection closes, possibly many keep-alive requests
        // later: it holds the task only through a handle emptied when the work ends, not the task and its result.
        let handle = Handle(task: task)
        channel.closeFuture.whenComplete { _ in handle.cancel() }
        return try await withTaskCancellationHandler {
            defer { handle.release() }
            return try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    private final class Handle: Sendable {
        private let cancelTask: Mutex<(@Sendable () -> Void)?>

        init<T: Sendable>(task: Task<T, any Error>) {
            cancelTask = Mutex({ task.cancel() })
        }

        func cancel() { cancelTask.withLock { $0 }?() }
        func release() { cancelTask.withLock { $0 = nil } }
    }
}
