import NIOCore
import Synchronization

/// Cancels a request's work when its client goes away, streaming or not. A streamed response would notice only
/// when a write fails, and a request still queued or prefilling, or generating a non-streamed answer, writes nothing
/// until the end; so the connection's close (the client's close or reset; `ConnectionGuard` turns the end of its
/// input into a close) cancels the work at once. Cancelling ends the generation streams, which aborts their engine
/// requests at the next step.
enum Disconnection {
    /// The connection of the request being handled, for work that outlives the handler (a streamed body).
    @TaskLocal static var connection: (any Channel)?

    /// Runs `work` in a task that is cancelled when `channel` closes (or when the caller is cancelled); `work` sees
    /// the channel as `connection`.
    static func cancelling<T: Sendable>(on channel: any Channel, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = $connection.withValue(channel) { Task { try await work() } }
        let watch = Watch(channel, task)
        return try await withTaskCancellationHandler {
            defer { watch.release() }
            return try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    /// Cancels a task when a channel closes, until released. The close callback stays registered until the
    /// connection closes, possibly many keep-alive requests later: it holds the task only through this watch,
    /// emptied when the work ends, not the task and its result.
    final class Watch: Sendable {
        private let cancelTask: Mutex<(@Sendable () -> Void)?>

        init<T: Sendable, Failure: Error>(_ channel: any Channel, _ task: Task<T, Failure>) {
            cancelTask = Mutex({ task.cancel() })
            channel.closeFuture.whenComplete { [self] _ in cancel() }
        }

        private func cancel() { cancelTask.withLock { $0 }?() }

        func release() { cancelTask.withLock { $0 = nil } }
    }
}
