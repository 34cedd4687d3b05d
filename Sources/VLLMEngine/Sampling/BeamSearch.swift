import Foundation

/// vLLM's beam search (`BeamSearchParams`, run by its serving layer for `use_beam_search`): every step asks each live
/// beam for one token with `2 × beamWidth` logprobs, extends it by each candidate, and keeps the `beamWidth` best by
/// `cumulative logprob / length^lengthPenalty` (length counting the prompt, less a final end-of-sequence token). A
/// beam that takes the end-of-sequence token (unless `ignoreEOS`) is complete; after `maxTokens` steps the live beams
/// join the complete ones and the best `beamWidth` of all are the answer. Stop strings, penalties and the other
/// sampling fields do not apply, as in vLLM.
public struct BeamSearch: Sendable {
    public var beamWidth: Int
    public var maxTokens: Int
    public var ignoreEOS = false
    /// The temperature of each step's one-token request (its candidates are its raw logprobs' top, whatever it samples).
    public var temperature = 0.0
    public var lengthPenalty = 1.0
    /// Whether a complete beam's tokens keep the end-of-sequence token (its text never shows it).
    public var includeStopStringInOutput = false

    public init(beamWidth: Int, maxTokens: Int) {
        self.beamWidth = beamWidth
        self.maxTokens = maxTokens
    }

    /// One beam: the prompt and its tokens so far.
    public struct Beam: Sendable, Equatable {
        public var tokens: [Int32]
        /// Logprobs of each generated token, with the candidates of its step.
        public var logprobs: [TokenLogprobs]
        public var cumulativeLogprob: Double
        /// `.stop` once it took the end-of-sequence token, `.length` when the search ran out of steps.
        public var finishReason: FinishReason?
    }

    /// The parameters of each step's one-token request for a beam.
    public var stepParameters: SamplingParameters {
        var p = SamplingParameters(temperature: temperature, maxTokens: 1)
        p.logprobs = 2 * beamWidth
        p.ignoreEOS = true
        return p
    }

    /// vLLM's ranking: the cumulative logprob over the length (prompt included, a final end-of-sequence token not) to
    /// the power `lengthPenalty`.
    public func score(_ beam: Beam, endOfSequence: Int32?) -> Double {
        var length = beam.tokens.count
        if let endOfSequence, beam.tokens.last == endOfSequence { length -= 1 }
        return beam.cumulativeLogprob / pow(Double(max(1, length)), lengthPenalty)
    }

    /// A search under way: the live beams (whose next tokens the next step asks for) and the complete ones.
    public struct Progress: Sendable {
        public fileprivate(set) var live: [Beam]
        public fileprivate(set) var complete: [Beam] = []
        public fileprivate(set) var steps = 0
    }

    /// The search from `prompt`, before its first step.
    public func start(prompt: [Int32]) -> Progress {
        Progress(live: [Beam(tokens: prompt, logprobs: [], cumulativeLogprob: 0)])
    }

    /// Whether another step is due: live beams remain and fewer than `maxTokens` steps ran.
    public func needsStep(_ progress: Progress) -> Bool { !progress.live.isEmpty && progress.steps < maxTokens }

    /// One step: `results[i]` is the logprobs of one next token of `progress.live[i]` (the sampled one and the
    /// `2 × beamWidth` most likely), as a request of `stepParameters` gives. Every candidate extends its beam; the
    /// `beamWidth` best stay live.
    public func advance(_ progress: inout Progress, results: [TokenLogprobs], endOfSequence: Int32?) {
        var candidates: [Beam] = []
        for (beam, result) in zip(progress.live, results) {
            var seen = Set<Int32>()
            for (id, logprob) in [(result.tokenID, result.logprob)] + result.top where seen.insert(id).inserted {
                var next = beam
                next.cumulativeLogprob += Double(logprob)
                var entry = result
                entry.tokenID = id
                entry.logprob = logprob
                if let at = result.top.firstIndex(where: { $0.id == id }) { entry.rank = at + 1 }
                next.logprobs.append(entry)
                if id == endOfSequence && !ignoreEOS {
                    if includeStopStringInOutput { next.tokens.append(id) }
                    next.finishReason = .stop
                    progress.complete.append(next)
                } else {
                    next.tokens.append(id)
                    candidates.append(next)
                }
            }
        }
        progress.live = Array(sorted(candidates, endOfSequence: endOfSequence).prefix(beamWidth))
        progress.steps += 1
    }

    /// The answer: the live beams (finished by length) join the complete ones; the `beamWidth` best, best first.
    public func finish(_ progress: Progress, endOfSequence: Int32?) -> [Beam] {
        var live = progress.live
        for i in live.indices { live[i].finishReason = .length }
        return Array(sorted(progress.complete + live, endOfSequence: endOfSequence).prefix(beamWidth))
    }

    /// Runs the whole search from `prompt`, `step` answering each step's live sequences (see `advance`). Returns at
    /// most `beamWidth` beams, best first, each with its finish reason.
    public func run(prompt: [Int32], endOfSequence: Int32?,
                    step: ([[Int32]]) async throws -> [TokenLogprobs]) async throws -> [Beam] {
        var progress = start(prompt: prompt)
        while needsStep(progress) {
            advance(&progress, results: try await step(progress.live.map(\.tokens)), endOfSequence: endOfSequence)
        }
        return finish(progress, endOfSequence: endOfSequence)
    }

    /// Best first; a stable sort, so equal scores keep the order candidates were made in.
    private func sorted(_ beams: [Beam], endOfSequence: Int32?) -> [Beam] {
        beams.enumerated().map { ($0.offset, score($0.element, endOfSequence: endOfSequence), $0.element) }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.map(\.2)
    }
}
