import Prometheus
import VLLMEngine

/// vLLM's Prometheus metrics (shared/SPEC.md names, label `model_name`), served at `/metrics`.
public final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let running, waiting, kvUsage: Gauge
    private let promptTokens, generationTokens, preemptions, prefixQueries, prefixHits: Counter
    private let success: [FinishReason: Counter]
    private let timeToFirstToken, interToken, endToEnd: DurationHistogram
    private let queueTime, prefillTime, decodeTime, inferenceTime, timePerOutputToken: DurationHistogram
    private let promptHistogram, generationHistogram, stepTokens: ValueHistogram
    private let engine: Mutex<AsyncEngine.Snapshot> = Mutex(AsyncEngine.Snapshot())

    public init(modelName: String) {
        let labels = [("model_name", modelName)]
        running = registry.makeGauge(descriptor: Self.describe("vllm:num_requests_running", "Requests in the running batch."), labels: labels)
        waiting = registry.makeGauge(descriptor: Self.describe("vllm:num_requests_waiting", "Requests waiting to be scheduled."), labels: labels)
        kvUsage = registry.makeGauge(descriptor: Self.describe("vllm:kv_cache_usage_perc", "KV cache usage, 1 means 100 percent."), labels: labels)
        promptTokens = registry.makeCounter(descriptor: Self.describe("vllm:prompt_tokens_total", "Prefill tokens processed."), labels: labels)
        generationTokens = registry.makeCounter(descriptor: Self.describe("vllm:generation_tokens_total", "Generation tokens processed."), labels: labels)
        preemptions = registry.makeCounter(descriptor: Self.describe("vllm:num_preemptions_total", "Cumulative preemptions."), labels: labels)
        prefixQueries = registry.makeCounter(descriptor: Self.describe("vllm:prefix_cache_queries_total", "Prefix cache queries, in tokens."), labels: labels)
        prefixHits = registry.makeCounter(descriptor: Self.describe("vllm:prefix_cache_hits_total", "Prefix cache hits, in tokens."), labels: labels)
        var success: [FinishReason: Counter] = [:]
        for reason in [FinishReason.stop, .length, .abort] {
            success[reason] = registry.makeCounter(descriptor: Self.describe("vllm:request_success_total", "Finished requests by finish reason."),
                                                   labels: labels + [("finished_reason", reason.rawValue)])
        }
        self.success = success
        let latencyBuckets: [Duration] = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80]
            .map { .milliseconds(Int64($0 * 1000)) }
        timeToFirstToken = registry.makeDurationHistogram(descriptor: Self.describe("vllm:time_to_first_token_seconds", "Time to first token in seconds."), labels: labels, buckets: latencyBuckets)
        interToken = registry.makeDurationHistogram(descriptor: Self.describe("vllm:inter_token_latency_seconds", "Inter-token latency in seconds."), labels: labels, buckets: latencyBuckets)
        endToEnd = registry.makeDurationHistogram(descriptor: Self.describe("vllm:e2e_request_latency_seconds", "End-to-end request latency in seconds."), labels: labels, buckets: latencyBuckets)
        // vLLM's request-phase buckets (seconds).
        let phaseBuckets: [Duration] = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680]
            .map { .milliseconds(Int64($0 * 1000)) }
        let registry = self.registry
        let phase = { (name: String, help: String) in
            registry.makeDurationHistogram(descriptor: Self.describe(name, help), labels: labels, buckets: phaseBuckets)
        }
        queueTime = phase("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.")
        prefillTime = phase("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.")
        decodeTime = phase("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.")
        inferenceTime = phase("vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.")
        let tpotBuckets: [Duration] = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80]
            .map { .milliseconds(Int64($0 * 1000)) }
        timePerOutputToken = registry.makeDurationHistogram(
            descriptor: Self.describe("vllm:request_time_per_output_token_seconds", "Histogram of time_per_output_token_seconds per request."),
            labels: labels, buckets: tpotBuckets)
        stepTokens = registry.makeValueHistogram(descriptor: Self.describe("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step."),
                                                 labels: labels, buckets: [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384])
        let tokenBuckets: [Double] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
        promptHistogram = registry.makeValueHistogram(descriptor: Self.describe("vllm:request_prompt_tokens", "Prompt tokens per request."), labels: labels, buckets: tokenBuckets)
        generationHistogram = registry.makeValueHistogram(descriptor: Self.describe("vllm:request_generation_tokens", "Generated tokens per request."), labels: labels, buckets: tokenBuckets)
    }

    func requestFinished(reason: FinishReason, promptTokens prompt: Int, generatedTokens: Int, timeToFirstToken ttft: Duration, total: Duration) {
        success[reason]?.increment()
        promptTokens.increment(by: Int64(prompt))
        generationTokens.increment(by: Int64(generatedTokens))
        promptHistogram.record(Double(prompt))
        generationHistogram.record(Double(generatedTokens))
        if generatedTokens > 0 { timeToFirstToken.record(ttft) }
        endToEnd.record(total)
    }

    func interTokenLatency(_ duration: Duration) { interToken.record(duration) }

    /// A finished request's phases, from the engine's clock, and its mean time per output token after the first
    /// (its decode time over its generated tokens but one, when it generated two or more).
    func requestPhases(_ timing: RequestTiming, generatedTokens: Int) {
        queueTime.record(timing.queued)
        prefillTime.record(timing.prefill)
        decodeTime.record(timing.decode)
        inferenceTime.record(timing.inference)
        if generatedTokens > 1 { timePerOutputToken.record(timing.decode / (generatedTokens - 1)) }
    }

    /// One engine step's token count (prompt and generated): pass to `AsyncEngine(stepTokens:)`.
    public func iterationTokens(_ count: Int) { stepTokens.record(Double(count)) }

    /// Brings gauges and engine counters up to date with an engine snapshot.
    func update(from snapshot: AsyncEngine.Snapshot) {
        running.set(Double(snapshot.running))
        waiting.set(Double(snapshot.waiting))
        kvUsage.set(snapshot.kvCacheUsage)
        engine.withLock { previous in
            preemptions.increment(by: Int64(max(0, snapshot.preemptions - previous.preemptions)))
            prefixQueries.increment(by: Int64(max(0, snapshot.prefixQueryTokens - previous.prefixQueryTokens)))
            prefixHits.increment(by: Int64(max(0, snapshot.prefixHitTokens - previous.prefixHitTokens)))
            previous = snapshot
        }
    }

    static func describe(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// The Prometheus text exposition.
    public func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

import Synchronization
