import Foundation
import VLLMEngine

/// Runs the choices of one API request (every prompt × `n` samples) on the backend, either gathering
/// their full results or merging their outputs into one stream, and records per-request metrics.
struct ChoiceRunner: Sendable {
    let backend: any GenerationBackend
    let metrics: ServerMetrics

    /// One generated choice, complete.
    struct Result: Sendable {
        var text = ""
        var tokenIDs: [Int32] = []
        var logprobs: [TokenLogprobs] = []
        var finishReason: FinishReason = .length
        var promptTokenCount = 0
        /// Prompt tokens served from the prefix cache.
        var cachedPromptTokenCount = 0
        /// With `prompt_logprobs`: prompt tokens 1, 2, ...'s logprobs.
        var promptLogprobs: [TokenLogprobs]? = nil
    }

    /// One choice of the request: its OpenAI index and the prompt it continues.
    struct Choice: Sendable {
        let index: Int
        let promptIndex: Int
        let promptTokenIDs: [Int32]
        let parameters: SamplingParameters
    }

    /// Choices in OpenAI's order: prompt-major, then sample.
    static func choices(prompts: [[Int32]], parameters: SamplingParameters) -> [Choice] {
        var out: [Choice] = []
        for (p, prompt) in prompts.enumerated() {
            for sample in 0..<parameters.n {
                var single = parameters
                single.n = 1
                if let seed = parameters.seed { single.seed = seed &+ UInt64(sample) }
                out.append(Choice(index: out.count, promptIndex: p, promptTokenIDs: prompt, parameters: single))
            }
        }
        return out
    }

    /// Generates every choice to the end.
    func gather(_ choices: [Choice], priority: Int) async throws -> [Result] {
        var results = Array(repeating: Result(), count: choices.count)
        for try await (index, output) in merged(choices, priority: priority) {
            results[index].text += output.text
            results[index].tokenIDs += output.tokenIDs
            results[index].logprobs += output.logprobs
            results[index].promptTokenCount = output.promptTokenCount
            results[index].cachedPromptTokenCount = output.cachedPromptTokenCount
            if let prompt = output.promptLogprobs { results[index].promptLogprobs = prompt }
            if let reason = output.finishReason { results[index].finishReason = reason }
        }
        // A cancelled request (client gone) ends the stream early: no partial answer.
        try Task.checkCancellation()
        return results
    }

    /// All choices' outputs as they are produced, tagged with the choice index. Ending the iteration early
    /// (client gone) cancels every choice, which aborts their requests in the engine.
    func merged(_ choices: [Choice], priority: Int) -> AsyncThrowingStream<(Int, RequestOutput), Error> {
        let (stream, continuation) = AsyncThrowingStream<(Int, RequestOutput), Error>.makeStream()
        let backend = backend, metrics = metrics
        let task = Task {
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for choice in choices {
                        group.addTask {
                            let start = ContinuousClock.now
                            var first: ContinuousClock.Instant?
                            var last = start
                            var generated = 0
                            for try await output in backend.generate(promptTokenIDs: choice.promptTokenIDs, parameters: choice.parameters, priority: priority) {
                                let now = ContinuousClock.now
                                if first == nil { first = now } else if !output.tokenIDs.isEmpty { metrics.interTokenLatency(now - last) }
                                last = now
                                generated += output.tokenIDs.count
                                continuation.yield((choice.index, output))
                                if let reason = output.finishReason {
                                    metrics.requestFinished(reason: reason, promptTokens: choice.promptTokenIDs.count, generatedTokens: generated,
                                                            timeToFirstToken: (first ?? now) - start, total: now - start)
                                    if let timing = output.timing { metrics.requestPhases(timing, generatedTokens: generated) }
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: Self.apiError(error))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Engine errors as HTTP errors: a stop for shutdown is 503 (retry elsewhere), anything else the request's fault.
    static func apiError(_ error: any Error) -> any Error {
        guard let error = error as? EngineError else { return error }
        if error == .shuttingDown {
            return APIError(status: .serviceUnavailable, message: "The server is shutting down; the request was stopped before it finished.")
        }
        return APIError.invalid(error.message)
    }
}
