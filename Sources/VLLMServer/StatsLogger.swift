import Foundation
import Logging
import ServiceLifecycle
import VLLMEngine

/// vLLM's periodic engine log line, as a service: every `interval` while there is activity, the prompt and
/// generation throughput over the interval, running and waiting requests, KV cache usage and the prefix-cache
/// hit rate. An idle interval is logged once (so the log shows the engine went quiet), then nothing until work
/// arrives again. vLLM's `VLLM_LOG_STATS_INTERVAL` sets the interval; `--disable-log-stats` leaves it out.
public struct StatsLogger: Service, CustomStringConvertible {
    public let interval: Duration
    let backend: any GenerationBackend
    let logger: Logger

    /// - Parameters:
    ///   - backend: whose snapshots are compared, one interval apart
    ///   - interval: the period of the line
    public init(backend: any GenerationBackend, interval: Duration, logger: Logger) {
        self.backend = backend
        self.interval = interval
        self.logger = logger
    }

    /// ServiceGroup logs each service's description: keep it short (the default would mirror the whole tokenizer).
    public var description: String { "StatsLogger(every \(interval))" }

    /// Logs until graceful shutdown or cancellation.
    public func run() async throws {
        // Ends at graceful shutdown (or cancellation): the sleep is cancelled and the loop returns.
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        let clock = ContinuousClock()
        var previous = backend.snapshot, previousTime = clock.now
        var wasActive = false
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            let now = backend.snapshot, time = clock.now
            let seconds = (time - previousTime) / .seconds(1)
            let active = Self.isActive(from: previous, to: now)
            if active || wasActive { logger.info("\(Self.line(from: previous, to: now, seconds: seconds))") }
            wasActive = active
            previous = now
            previousTime = time
        }
    }

    /// Whether anything happened between two snapshots or is still queued.
    public static func isActive(from previous: AsyncEngine.Snapshot, to now: AsyncEngine.Snapshot) -> Bool {
        now.promptTokens != previous.promptTokens || now.generationTokens != previous.generationTokens || now.running + now.waiting > 0
    }

    /// The line for the `seconds` between two snapshots (vLLM's wording). The hit rate is over the prefix-cache
    /// queries of the interval, or over all queries so far when the interval had none.
    public static func line(from previous: AsyncEngine.Snapshot, to now: AsyncEngine.Snapshot, seconds: Double) -> String {
        let span = max(seconds, 1e-9)
        let promptRate = Double(now.promptTokens - previous.promptTokens) / span
        let generationRate = Double(now.generationTokens - previous.generationTokens) / span
        let queries = now.prefixQueryTokens - previous.prefixQueryTokens
        let hitRate = queries > 0 ? Double(now.prefixHitTokens - previous.prefixHitTokens) / Double(queries)
            : now.prefixQueryTokens > 0 ? Double(now.prefixHitTokens) / Double(now.prefixQueryTokens) : 0
        func f(_ value: Double) -> String { String(format: "%.1f", value) }
        return "Engine 000: Avg prompt throughput: \(f(promptRate)) tokens/s, Avg generation throughput: \(f(generationRate)) tokens/s, "
            + "Running: \(now.running) reqs, Waiting: \(now.waiting) reqs, KV cache usage: \(f(now.kvCacheUsage * 100))%, "
            + "Prefix cache hit rate: \(f(hitRate * 100))%"
    }
}
