import Testing
import VLLMEngine
import VLLMServer

/// The periodic stats line: rates over the interval, queue sizes, KV usage and the prefix-cache hit rate,
/// each computed here by hand from the two snapshots.
struct StatsLoggerTests {
    static func snapshot(prompt: Int, generated: Int, running: Int = 0, waiting: Int = 0, usage: Double = 0,
                         queries: Int = 0, hits: Int = 0) -> AsyncEngine.Snapshot {
        var s = AsyncEngine.Snapshot()
        s.promptTokens = prompt
        s.generationTokens = generated
        s.running = running
        s.waiting = waiting
        s.kvCacheUsage = usage
        s.prefixQueryTokens = queries
        s.prefixHitTokens = hits
        return s
    }

    @Test func theLineReportsTheInterval() {
        let before = Self.snapshot(prompt: 100, generated: 40, queries: 1000, hits: 100)
        let after = Self.snapshot(prompt: 1100, generated: 290, running: 3, waiting: 2, usage: 0.1234, queries: 1800, hits: 500)
        let line = StatsLogger.line(from: before, to: after, seconds: 4)
        // 1000 prompt tokens / 4 s; 250 generated / 4 s; (500 - 100) hits of (1800 - 1000) queried tokens.
        #expect(line == "Engine 000: Avg prompt throughput: 250.0 tokens/s, Avg generation throughput: 62.5 tokens/s, "
            + "Running: 3 reqs, Waiting: 2 reqs, KV cache usage: 12.3%, Prefix cache hit rate: 50.0%")
    }

    @Test func withoutQueriesTheHitRateIsTheOverallOne() {
        let before = Self.snapshot(prompt: 10, generated: 10, queries: 400, hits: 100)
        let after = Self.snapshot(prompt: 10, generated: 30, running: 1, queries: 400, hits: 100)
        #expect(StatsLogger.line(from: before, to: after, seconds: 2).hasSuffix("Prefix cache hit rate: 25.0%"))
    }

    @Test func activityIsTokensMovedOrRequestsQueued() {
        let idle = Self.snapshot(prompt: 5, generated: 5)
        #expect(!StatsLogger.isActive(from: idle, to: idle))
        #expect(StatsLogger.isActive(from: idle, to: Self.snapshot(prompt: 5, generated: 6)))
        #expect(StatsLogger.isActive(from: idle, to: Self.snapshot(prompt: 9, generated: 5)))
        #expect(StatsLogger.isActive(from: idle, to: Self.snapshot(prompt: 5, generated: 5, waiting: 1)), "a queued request is activity")
    }
}

/// ServiceGroup logs every service's description at start: the default would mirror the whole backend (the
/// real one holds the tokenizer), which cost 0.6 s of start-up.
@Test func servicesDescribeThemselvesBriefly() {
    let logger = StatsLogger(backend: FakeBackend(), interval: .seconds(5), logger: .init(label: "test"))
    #expect(logger.description == "StatsLogger(every 5.0 seconds)")
}
