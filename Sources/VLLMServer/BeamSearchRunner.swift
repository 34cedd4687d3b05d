import VLLMEngine

/// Runs vLLM's beam search (`BeamSearch`) for the prompts of one request on the backend: each step's beams go to the
/// engine as one-token requests, all at once (the prefix cache holds what they share).
///
/// Each prompt's search counts in the per-request metrics as one request (vLLM counts every one-token step request
/// instead): finished for its best beam's reason, with the best beam's tokens, its first step as the first token and
/// each later step as an inter-token interval.
struct BeamSearchRunner: Sendable {
    let backend: any GenerationBackend
    let metrics: ServerMetrics

    /// One prompt's answer: its beams, best first.
    struct Answer: Sendable {
        let promptIndex: Int
        let promptTokenCount: Int
        let beams: [BeamSearch.Beam]
    }

    /// Searches from every prompt of `choices` (its first choice's prompt and fitted `max_tokens`).
    func run(_ search: BeamSearch, choices: [ChoiceRunner.Choice], priority: Int) async throws -> [Answer] {
        var firsts: [ChoiceRunner.Choice] = []
        for choice in choices where !firsts.contains(where: { $0.promptIndex == choice.promptIndex }) { firsts.append(choice) }
        let backend = backend
        return try await withThrowingTaskGroup(of: Answer.self) { group in
            for choice in firsts {
                var own = search
                own.maxTokens = choice.parameters.maxTokens ?? search.maxTokens
                // The steps share the request's cache salt: they read only the prefix-cache blocks it may read.
                var step = own.stepParameters
                step.cacheSalt = choice.parameters.cacheSalt
                group.addTask { [step, metrics] in
                    let start = ContinuousClock.now
                    var first: ContinuousClock.Instant?, last = start
                    let beams = try await own.run(prompt: choice.promptTokenIDs, endOfSequence: backend.endOfSequenceTokenID) { sequences in
                        let results = try await Self.step(backend, sequences, parameters: step, priority: priority)
                        let now = ContinuousClock.now
                        if first == nil { first = now } else { metrics.interTokenLatency(now - last) }
                        last = now
                        return results
                    }
                    let end = ContinuousClock.now, prompt = choice.promptTokenIDs.count
                    if let best = beams.first {
                        metrics.requestFinished(reason: best.finishReason ?? .length, promptTokens: prompt,
                                                generatedTokens: best.tokens.count - prompt,
                                                timeToFirstToken: (first ?? end) - start, total: end - start)
                    }
                    return Answer(promptIndex: choice.promptIndex, promptTokenCount: prompt, beams: beams)
                }
            }
            var answers: [Answer] = []
            for try await answer in group { answers.append(answer) }
            return answers.sorted { $0.promptIndex < $1.promptIndex }
        }
    }

    /// One token's logprobs for each sequence, from one-token requests run together.
    static func step(_ backend: any GenerationBackend, _ sequences: [[Int32]], parameters: SamplingParameters,
                     priority: Int) async throws -> [TokenLogprobs] {
        try await withThrowingTaskGroup(of: (Int, TokenLogprobs?).self) { group in
            for (i, sequence) in sequences.enumerated() {
                group.addTask {
                    var found: TokenLogprobs?
                    for try await output in backend.generate(promptTokenIDs: sequence, parameters: parameters, priority: priority) {
                        if found == nil { found = output.logprobs.first }
                    }
                    return (i, found)
                }
            }
            var results = [TokenLogprobs?](repeating: nil, count: sequences.count)
            for try await (i, entry) in group { results[i] = entry }
            try Task.checkCancellation()
            return try results.map { entry throws -> TokenLogprobs in
                guard let entry else { throw APIError.invalid("beam search: a step ended without a token") }
                return entry
            }
        }
    }

    /// A beam's generated tokens and text: its tokens after the prompt, the text without a final end-of-sequence
    /// token, decoded as the request's `skip_special_tokens` says (vLLM keeps special tokens in a beam's text).
    func generated(_ beam: BeamSearch.Beam, promptTokenCount: Int, skipSpecialTokens: Bool) -> (tokens: [Int32], text: String) {
        let tokens = Array(beam.tokens[promptTokenCount...])
        var shown = tokens[...]
        if let eos = backend.endOfSequenceTokenID, beam.finishReason == .stop, shown.last == eos { shown = shown.dropLast() }
        return (tokens, backend.detokenize(Array(shown), skipSpecialTokens: skipSpecialTokens))
    }
}
