import Foundation
import Testing
import VLLMEngine

/// Sampling fields through the whole engine on the real model, each against an answer derived from an
/// unconstrained greedy run of the same prompt: stop strings that straddle two tokens, min_tokens holding off the
/// end of generation, and logit_bias overriding the model.
@Suite(.serialized)
struct SamplingEngineTests {
    static func llm() throws -> LLM {
        var options = EngineOptions()
        options.threads = 2
        options.kvCacheSpaceGiB = 0.25
        return try LLM(model: BatchInvarianceTests.modelPath, options: options)
    }

    static func greedy(_ maxTokens: Int, ignoreEOS: Bool = true) -> SamplingParameters {
        var p = SamplingParameters(temperature: 0, maxTokens: maxTokens)
        p.ignoreEOS = ignoreEOS
        return p
    }

    @Test(arguments: [false, true])
    func aStopStringAcrossTwoTokensCutsTheOutput(includeStop: Bool) throws {
        let llm = try Self.llm()
        let prompt = llm.tokenizer.encode("The history of the printing press begins")
        // The text of each token, from an unconstrained run.
        var pieces: [String] = []
        let full = try llm.generate(promptTokenIDs: [prompt], Self.greedy(32)) { _, output in pieces.append(output.text) }[0].outputs[0]
        #expect(pieces.joined() == full.text)
        // A stop string made of the last two characters of one token and the first two of the next, at its first
        // occurrence in the text (so that nothing earlier matches).
        var found: (stop: String, token: Int, range: Range<String.Index>)?
        var offset = 0
        for i in 0..<(pieces.count - 1) {
            defer { offset += pieces[i].count }
            guard pieces[i].count >= 2, pieces[i + 1].count >= 2 else { continue }
            let stop = String(pieces[i].suffix(2)) + String(pieces[i + 1].prefix(2))
            guard let range = full.text.range(of: stop),
                  full.text.distance(from: full.text.startIndex, to: range.lowerBound) == offset + pieces[i].count - 2 else { continue }
            found = (stop, i, range)
            break
        }
        let (stop, token, range) = try #require(found, "no token boundary to split a stop string across in \(pieces)")

        var parameters = Self.greedy(32)
        parameters.stop = [stop]
        parameters.includeStopStringInOutput = includeStop
        let stopped = try llm.generate(promptTokenIDs: [prompt], parameters)[0].outputs[0]
        #expect(stopped.text == String(full.text[..<(includeStop ? range.upperBound : range.lowerBound)]))
        #expect(stopped.finishReason == .stop)
        #expect(stopped.tokenIDs == Array(full.tokenIDs[...(token + 1)]), "generation ends with the token that completes the stop string")
    }

    @Test func minTokensHoldsOffTheEndOfGeneration() throws {
        let llm = try Self.llm()
        let prompt = try llm.chatPrompt([LLM.Message(role: "user", content: "What is 2+2?")], chatTemplate: nil)
        let free = try llm.generate(promptTokenIDs: [prompt], Self.greedy(64, ignoreEOS: false))[0].outputs[0]
        let end = try #require(free.tokenIDs.last)
        #expect(free.finishReason == .stop && llm.tokenizer.endOfGenerationIDs.contains(end), "the reply ends on its own")
        let natural = free.tokenIDs.count

        var parameters = Self.greedy(64, ignoreEOS: false)
        parameters.minTokens = natural + 5
        let held = try llm.generate(promptTokenIDs: [prompt], parameters)[0].outputs[0]
        #expect(held.tokenIDs.count >= natural + 5)
        #expect(Array(held.tokenIDs.prefix(natural - 1)) == Array(free.tokenIDs.prefix(natural - 1)), "the same reply up to the blocked end")
        #expect(!held.tokenIDs.prefix(natural + 5).contains { llm.tokenizer.endOfGenerationIDs.contains($0) },
                "no end-of-generation id before min_tokens")
    }

    @Test func logitBiasOverridesTheModel() throws {
        let llm = try Self.llm()
        let prompt = llm.tokenizer.encode("The capital of France is")
        let plain = try llm.generate(promptTokenIDs: [prompt], Self.greedy(4))[0].outputs[0]
        let banana = try #require(llm.tokenizer.encode(" banana").first)

        var forced = Self.greedy(4)
        forced.logitBias = [banana: 100]
        #expect(try llm.generate(promptTokenIDs: [prompt], forced)[0].outputs[0].tokenIDs == [banana, banana, banana, banana])

        var banned = Self.greedy(1)
        banned.logitBias = [plain.tokenIDs[0]: -100]
        let second = try llm.generate(promptTokenIDs: [prompt], banned)[0].outputs[0].tokenIDs[0]
        #expect(second != plain.tokenIDs[0], "a -100 bias removes the greedy choice")
    }
}
