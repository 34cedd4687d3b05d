import VLLMTokenizers

/// Turns sampled tokens into what requests see (vLLM's output processor): detokenizes each request incrementally,
/// finds its stop strings and stop tokens, and decides which requests finish and why. Owned by the engine loop.
struct OutputProcessor {
    let tokenizer: Tokenizer
    private var streams: [Int: Stream] = [:]

    /// One request's output state: the streaming detokenizer and the stop-string matcher.
    private struct Stream {
        var detokenizer: IncrementalDetokenizer
        var stopChecker: StopChecker
    }

    /// What one step's tokens became.
    struct Processed {
        var outputs: [RequestOutput] = []
        /// Requests a stop string ended that the scheduler still runs: the engine finishes them.
        var stoppedByString: [Int] = []
        /// Every request that ended this step.
        var ended: [Int] = []
    }

    init(tokenizer: Tokenizer) { self.tokenizer = tokenizer }

    func isLive(_ id: Int) -> Bool { streams[id] != nil }

    mutating func add(id: Int, parameters: SamplingParameters) {
        streams[id] = Stream(detokenizer: IncrementalDetokenizer(tokenizer: tokenizer, skipSpecialTokens: parameters.skipSpecialTokens),
                             stopChecker: StopChecker(stops: parameters.stop, includeStop: parameters.includeStopStringInOutput))
    }

    mutating func remove(id: Int) { streams[id] = nil }

    /// Why `request` ends after sampling `token`: a stop token, or its length limit; nil while it goes on.
    func finishReason(_ request: Request, _ token: Int32) -> FinishReason? {
        if request.parameters.isStopToken(token, endOfGeneration: tokenizer.endOfGenerationIDs) { return .stop }
        if request.tokenCount >= request.maxTotalTokens { return .length }
        return nil
    }

    /// The outputs of a step: each sampled token's text (held back while it may start a stop string), and the final
    /// text and reason of requests that finished, `finished` by the scheduler's update or here by a stop string.
    /// `now`: the step's end, the finished requests' last-token time.
    mutating func process(_ batch: ScheduledBatch, sampled: [Int32?], logprobs: [Int: TokenLogprobs], finished: Set<Int>,
                          pooled: [Int: [Float]] = [:], now: ContinuousClock.Instant = .now) -> Processed {
        var result = Processed()
        for (entry, token) in zip(batch.entries, sampled) {
            if let vector = pooled[entry.request.id] {
                result.outputs.append(Self.pooledOutput(entry.request, vector))
                result.ended.append(entry.request.id)
                streams[entry.request.id] = nil
                continue
            }
            guard let token, var stream = streams[entry.request.id] else { continue }
            let r = entry.request
            var reason: FinishReason? = nil
            if finished.contains(r.id), case .finished(let why) = r.status { reason = why }
            var text = ""
            // End-of-generation and stop ids end the output without adding text.
            if !(reason == .stop && r.parameters.isStopToken(token, endOfGeneration: tokenizer.endOfGenerationIDs)) {
                let (emit, stopped) = stream.stopChecker.append(stream.detokenizer.append(token))
                text = emit
                if stopped {
                    if reason == nil { result.stoppedByString.append(r.id) }
                    reason = .stop
                    stream.stopChecker = StopChecker(stops: [], includeStop: false)
                }
            }
            if reason != nil {
                // Flush bytes of an unfinished character and held-back text.
                let (emit, _) = stream.stopChecker.append(stream.detokenizer.finish())
                text += emit + stream.stopChecker.finish()
                result.ended.append(r.id)
            }
            var output = RequestOutput(requestID: r.id, text: text, tokenIDs: [token], logprobs: logprobs[r.id].map { [$0] } ?? [],
                                       finishReason: reason, promptTokenCount: r.promptTokenIDs.count,
                                       cachedPromptTokenCount: r.cachedPromptTokenCount)
            output.promptLogprobs = Self.takePromptLogprobs(r)
            if reason != nil { output.timing = RequestTiming(r, end: now) }
            result.outputs.append(output)
            streams[r.id] = reason == nil ? stream : nil
        }
        return result
    }

    /// A pooling request's one output: its vector, no text or tokens.
    private static func pooledOutput(_ request: Request, _ vector: [Float]) -> RequestOutput {
        var output = RequestOutput(requestID: request.id, text: "", tokenIDs: [], finishReason: .stop,
                                   promptTokenCount: request.promptTokenIDs.count, cachedPromptTokenCount: request.cachedPromptTokenCount)
        output.embedding = vector
        return output
    }

    /// The last output of a request the scheduler ended because the KV cache cannot hold it: no new token, the
    /// text held back so far, finish reason `.length`.
    mutating func endedByScheduler(_ request: Request, now: ContinuousClock.Instant = .now) -> RequestOutput {
        var text = ""
        if var stream = streams.removeValue(forKey: request.id) {
            let (emit, _) = stream.stopChecker.append(stream.detokenizer.finish())
            text = emit + stream.stopChecker.finish()
        }
        var output = RequestOutput(requestID: request.id, text: text, tokenIDs: [], finishReason: .length,
                                   promptTokenCount: request.promptTokenIDs.count, cachedPromptTokenCount: request.cachedPromptTokenCount)
        output.promptLogprobs = Self.takePromptLogprobs(request)
        output.timing = RequestTiming(request, end: now)
        return output
    }

    /// The request's prompt logprobs the first time it is asked (they go out with its first output), else nil.
    private static func takePromptLogprobs(_ request: Request) -> [TokenLogprobs]? {
        guard request.parameters.promptLogprobs != nil, !request.promptLogprobsDelivered else { return nil }
        request.promptLogprobsDelivered = true
        return request.promptLogprobs
    }
}
