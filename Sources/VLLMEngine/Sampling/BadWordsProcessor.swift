import VLLMTokenizers

/// vLLM's `bad_words`: a word's last token gets -inf wherever the output so far ends with the tokens before it (a
/// one-token word is never sampled). Only generated tokens count, as in vLLM V1: the prompt may hold the word.
public final class BadWordsProcessor: LogitsProcessor {
    public init() {}
    public func applies(to p: SamplingParameters) -> Bool { !p.badWordsTokenIDs.isEmpty }

    public func apply(_ logits: UnsafeMutableBufferPointer<Float>, _ context: LogitsContext) {
        let output = context.outputTokens
        for word in context.parameters.badWordsTokenIDs {
            guard let last = word.last, word.count <= output.count + 1, last >= 0, Int(last) < logits.count else { continue }
            if output.suffix(word.count - 1).elementsEqual(word.dropLast()) { logits[Int(last)] = -.infinity }
        }
    }

    /// The token sequences that spell `words`, as vLLM derives them: each word (leading spaces stripped) tokenized on
    /// its own, and again after a space when that gives a different first token and as many tokens (the word in the
    /// middle of a text). Special-token text is that token, as in Hugging Face's `encode`.
    public static func tokenSequences(_ words: [String], tokenizer: Tokenizer) -> [[Int32]] {
        tokenSequences(words) { tokenizer.encode($0, addSpecialTokens: false, parseSpecial: true) }
    }

    /// The same with `encode` (text to ids, no special tokens added, special-token text parsed) doing the tokenizing.
    public static func tokenSequences(_ words: [String], encode: (String) -> [Int32]) -> [[Int32]] {
        var sequences: [[Int32]] = []
        for word in words {
            let bare = String(word.drop { $0.isWhitespace })
            let alone = encode(bare)
            guard !alone.isEmpty else { continue }
            sequences.append(alone)
            let spaced = encode(" " + bare)
            if spaced.first != alone.first && spaced.count == alone.count { sequences.append(spaced) }
        }
        return sequences
    }
}
