extension LLM {
    /// vLLM's `LLM.beam_search`: `search` from each prompt, every live beam of every prompt computed in one engine
    /// run a step (their shared prefixes come from the prefix cache). Returns each prompt's beams, best first; a
    /// beam's `tokens` start with its prompt.
    public func beamSearch(_ prompts: [[Int32]], _ search: BeamSearch) throws -> [[BeamSearch.Beam]] {
        let endOfSequence = tokenizer.eosTokenID
        var progress = prompts.map { search.start(prompt: $0) }
        while true {
            let due = progress.indices.filter { search.needsStep(progress[$0]) }
            guard !due.isEmpty else { break }
            let sequences = due.flatMap { progress[$0].live.map(\.tokens) }
            // The step's 2 × beamWidth logprobs are the search's own, not a client's: no --max-logprobs cap.
            let results = try generate(requests: sequences.map { ($0, search.stepParameters) }, maxLogprobs: -1)
            var next = results.makeIterator()
            for p in due {
                let entries = progress[p].live.map { _ in next.next()!.outputs[0].logprobs[0] }
                search.advance(&progress[p], results: entries, endOfSequence: endOfSequence)
            }
        }
        return progress.map { search.finish($0, endOfSequence: endOfSequence) }
    }
}
