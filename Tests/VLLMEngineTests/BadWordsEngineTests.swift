import Foundation
import Testing
import VLLMEngine

/// `bad_words` as vLLM V1 applies them: a word's last token is masked where the output ends with the tokens before
/// it; words are tokenized alone and after a space.
@Suite(.serialized)
struct BadWordsEngineTests {
    static func context(output: [Int32], words: [[Int32]]) -> LogitsContext {
        var p = SamplingParameters()
        p.badWordsTokenIDs = words
        return LogitsContext(parameters: p, promptTokens: [3, 4], outputTokens: output[...], endOfGeneration: [])
    }

    static func masked(output: [Int32], words: [[Int32]]) -> [Int] {
        var row = [Float](repeating: 1, count: 10)
        row.withUnsafeMutableBufferPointer { BadWordsProcessor().apply($0, context(output: output, words: words)) }
        return row.indices.filter { row[$0] == -.infinity }
    }

    @Test func theLastTokenIsMaskedAfterTheWordsPrefix() {
        #expect(Self.masked(output: [], words: [[5]]) == [5], "a one-token word, from the first token on")
        #expect(Self.masked(output: [], words: [[3, 4, 7]]) == [], "the prompt's 3, 4 do not count")
        #expect(Self.masked(output: [3], words: [[3, 4, 7]]) == [])
        #expect(Self.masked(output: [1, 3, 4], words: [[3, 4, 7], [4, 8], [2, 9]]) == [7, 8])
        #expect(Self.masked(output: [4, 3], words: [[3, 4, 7]]) == [])
    }

    /// On the real model: the first word of an unconstrained greedy answer (" Paris"), banned, appears nowhere in the
    /// new answer, which starts with another token.
    @Test func aBannedWordLeavesTheAnswer() throws {
        let llm = try SamplingEngineTests.llm()
        let prompt = llm.tokenizer.encode("The capital of France is")
        let free = try llm.generate(promptTokenIDs: [prompt], SamplingEngineTests.greedy(12))[0].outputs[0]
        #expect(free.text.hasPrefix(" Paris"))
        var banned = SamplingEngineTests.greedy(12)
        banned.badWords = ["Paris"]
        let sequences = BadWordsProcessor.tokenSequences(["Paris"], tokenizer: llm.tokenizer)
        #expect(sequences.contains(llm.tokenizer.encode(" Paris")) && sequences.contains(llm.tokenizer.encode("Paris")))
        let other = try llm.generate(promptTokenIDs: [prompt], banned)[0].outputs[0]
        #expect(!other.text.contains("Paris"), "\(other.text)")
        #expect(other.tokenIDs.first != free.tokenIDs.first)
    }
}
