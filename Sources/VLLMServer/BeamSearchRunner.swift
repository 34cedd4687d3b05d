import VLLMEngine

/// Runs vLLM's beam search (`BeamSearch`) for the prompts of one request on the backend: each step's beams go to the
/// engine as one-token requests, all at once (the prefix cache holds what they share).
struct BeamSearchRunner: Sendable {
    let backend: any GenerationBackend

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
                group.addTask { [step] in
                    let beams = try await own.run(prompt: choice.promptTokenIDs, endOfSequence: backend.endOfSequenceTokenID) { sequences in
                        try await Self.step(backend, sequences, parameters: step, priority: priority)
                    }
                    return Answer(promptIndex: choice.promptIndex, promptTokenCount: choice.promptTokenIDs.count, beams: beams)
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
