import Foundation
import Testing
import VLLMEngine

/// vLLM's beam search (`BeamSearch`) on a synthetic model whose next-token distribution is a table, and on the real
/// model against greedy decoding.
struct BeamSearchTests {
    /// Tokens 0 (A), 1 (B), 2 (end of sequence). After the prompt, A is likelier than B, but A is followed by a flat
    /// choice while B is followed by a near-certain B: the better pair (B B) starts with the worse token.
    static func distribution(after context: [Int32]) -> [Float] {
        switch context.last {
        case 9: return [0.6, 0.4, 0.0]                  // the prompt's last token
        case 0: return [0.34, 0.33, 0.33]
        default: return [0.05, 0.9, 0.05]
        }
    }

    static func step(_ sequences: [[Int32]], _ search: BeamSearch) -> [TokenLogprobs] {
        sequences.map { sequence in
            let logits = distribution(after: sequence).map { $0 > 0 ? log($0) : -Float.infinity }
            let chosen = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            return logits.withUnsafeBufferPointer { TokenLogprobs(logits: $0, chosen: chosen, topCount: search.stepParameters.logprobs!) }
        }
    }

    static func run(_ search: BeamSearch) async throws -> [BeamSearch.Beam] {
        try await search.run(prompt: [7, 9], endOfSequence: 2) { step($0, search) }
    }

    @Test func widerBeamsFindTheBetterPairThatGreedyMisses() async throws {
        var search = BeamSearch(beamWidth: 1, maxTokens: 2)
        search.lengthPenalty = 0  // rank by the cumulative logprob alone
        let greedy = try await Self.run(search)
        #expect(greedy.map { Array($0.tokens.dropFirst(2)) } == [[0, 0]], "one beam follows the likeliest token")
        search.beamWidth = 2
        let beams = try await Self.run(search)
        #expect(beams.first.map { Array($0.tokens.dropFirst(2)) } == [1, 1])
        #expect(abs((beams.first?.cumulativeLogprob ?? 0) - Double(log(Float(0.4)) + log(Float(0.9)))) < 1e-5)
        #expect(beams.count == 2 && beams.allSatisfy { $0.finishReason == .length && $0.logprobs.count == 2 })
        #expect(beams[0].logprobs.map(\.tokenID) == [1, 1], "each step's logprobs name the token the beam took")
    }

    /// A beam that takes the end-of-sequence token is complete (not extended) and keeps the token only with
    /// `includeStopStringInOutput`; length counts the prompt, less a final end-of-sequence token.
    @Test func endOfSequenceCompletesABeam() async throws {
        var search = BeamSearch(beamWidth: 3, maxTokens: 3)
        search.lengthPenalty = 0
        let beams = try await Self.run(search)
        let stopped = try #require(beams.first { $0.finishReason == .stop })
        #expect(stopped.tokens.last != 2 && stopped.logprobs.last?.tokenID == 2)
        search.includeStopStringInOutput = true
        let kept = try #require(try await Self.run(search).first { $0.finishReason == .stop })
        #expect(kept.tokens.last == 2)
        #expect(search.score(kept, endOfSequence: 2) == kept.cumulativeLogprob)
        search.lengthPenalty = 1
        #expect(search.score(kept, endOfSequence: 2) == kept.cumulativeLogprob / Double(kept.tokens.count - 1))
        search.ignoreEOS = true
        #expect(try await Self.run(search).allSatisfy { $0.finishReason == .length })
    }

    /// On SmolLM2 with the engine answering each step (temperature 0): one beam is greedy decoding, token for token.
    @Test func oneBeamOnTheRealModelIsGreedy() async throws {
        let llm = try SamplingEngineTests.llm()
        let prompt = llm.tokenizer.encode("The history of the printing press begins")
        let greedy = try llm.generate(promptTokenIDs: [prompt], SamplingEngineTests.greedy(10))[0].outputs[0]
        let search = BeamSearch(beamWidth: 1, maxTokens: 10)
        let beams = try await search.run(prompt: prompt, endOfSequence: llm.tokenizer.eosTokenID) { sequences in
            try llm.generate(promptTokenIDs: sequences, search.stepParameters).map { $0.outputs[0].logprobs[0] }
        }
        #expect(beams.count == 1 && Array(beams[0].tokens.dropFirst(prompt.count)) == greedy.tokenIDs)
        // The offline API batches every beam of every prompt a step, and gives the async search's beams.
        var wide = BeamSearch(beamWidth: 3, maxTokens: 6)
        wide.lengthPenalty = 0.5
        let other = llm.tokenizer.encode("Once upon a time")
        let offline = try llm.beamSearch([prompt, other], wide)
        for (i, p) in [prompt, other].enumerated() {
            let online = try await wide.run(prompt: p, endOfSequence: llm.tokenizer.eosTokenID) { sequences in
                try llm.generate(promptTokenIDs: sequences, wide.stepParameters).map { $0.outputs[0].logprobs[0] }
            }
            #expect(offline[i] == online && online.count == 3)
        }
    }
}
