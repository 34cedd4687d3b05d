/// Where a finished request's time went: vLLM's request phases (`vllm:request_queue_time_seconds` and the other
/// `vllm:request_*_time_seconds` histograms), from the engine's own clock.
public struct RequestTiming: Sendable, Equatable {
    /// Submission to the first step that scheduled it (WAITING).
    public var queued: Duration
    /// First scheduled to its first generated token (PREFILL; a preemption meanwhile is included).
    public var prefill: Duration
    /// First generated token to the last (DECODE; zero for a request that generated none).
    public var decode: Duration
    /// First scheduled to the last token (RUNNING: prefill and decode).
    public var inference: Duration

    public init(queued: Duration, prefill: Duration, decode: Duration, inference: Duration) {
        self.queued = queued
        self.prefill = prefill
        self.decode = decode
        self.inference = inference
    }

    /// The phases of `request`, ending at `end`; nil for a request that was never scheduled.
    init?(_ request: Request, end: ContinuousClock.Instant) {
        guard let scheduled = request.scheduledAt else { return nil }
        let firstToken = request.firstTokenAt ?? end
        self.init(queued: scheduled - request.queuedAt, prefill: firstToken - scheduled, decode: end - firstToken,
                  inference: end - scheduled)
    }
}
