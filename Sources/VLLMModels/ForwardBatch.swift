/// One model step over a flattened batch: the new tokens of several sequences back to back, some in
/// prefill (many tokens), some decoding (one token). K/V of the new tokens are written into each
/// sequence's cache blocks, then every new token attends to all earlier positions through its block table.
public struct ForwardBatch: Sendable, Equatable {
    /// One sequence's slice of the batch.
    public struct Sequence: Sendable, Equatable {
        /// Index of this sequence's first token in `tokens`.
        public var tokenStart: Int
        /// Number of new tokens (positions `startPosition ..< startPosition + tokenCount`).
        public var tokenCount: Int
        /// Position of the first new token; earlier positions must already be in the cache.
        public var startPosition: Int
        /// Per KV cache group (`KVCacheLayout.groups`), block ids covering positions `0 ..< startPosition +
        /// tokenCount`; a sliding-window group's blocks before its window may be -1 (never read).
        public var blockTables: [[Int32]]
        /// The first group's block table (the only one of a model whose layers all attend in full).
        public var blockTable: [Int32] {
            get { blockTables[0] }
            set { blockTables[0] = newValue }
        }
        /// Whether the last new token needs logits (the engine samples from it).
        public var wantsLogits: Bool

        public init(tokenStart: Int, tokenCount: Int, startPosition: Int, blockTables: [[Int32]], wantsLogits: Bool = true) {
            self.tokenStart = tokenStart
            self.tokenCount = tokenCount
            self.startPosition = startPosition
            self.blockTables = blockTables
            self.wantsLogits = wantsLogits
        }
    }

    /// What `LanguageModel.forward` returns for the rows of `logitIndices`.
    public enum Output: Sendable {
        /// `[rows, vocabularySize]` logits (generation).
        case logits
        /// `[rows, hiddenSize]` hidden states after the final norm (pooling and embeddings).
        case hiddenStates
    }

    /// Token ids, `[totalTokens]`.
    public var tokens: [Int32]
    public var sequences: [Sequence]
    /// Extra token indices (into `tokens`) whose logits are wanted, for prompt logprobs; sorted, may be empty.
    public var extraLogitIndices: [Int]
    /// Logits (the default) or hidden states.
    public var output: Output

    public init(tokens: [Int32] = [], sequences: [Sequence] = [], extraLogitIndices: [Int] = [], output: Output = .logits) {
        self.tokens = tokens
        self.output = output
        self.sequences = sequences
        self.extraLogitIndices = extraLogitIndices
    }

    /// Appends one sequence's new tokens.
    public mutating func append(tokens newTokens: [Int32], startPosition: Int, blockTable: [Int32], wantsLogits: Bool = true) {
        append(tokens: newTokens, startPosition: startPosition, blockTables: [blockTable], wantsLogits: wantsLogits)
    }

    /// Appends one sequence's new tokens with a block table per KV cache group.
    public mutating func append(tokens newTokens: [Int32], startPosition: Int, blockTables: [[Int32]], wantsLogits: Bool = true) {
        sequences.append(Sequence(tokenStart: tokens.count, tokenCount: newTokens.count, startPosition: startPosition,
                                  blockTables: blockTables, wantsLogits: wantsLogits))
        tokens += newTokens
    }

    /// The token indices whose logits `forward` returns, in order: every sequence's last token that wants
    /// logits, merged with `extraLogitIndices`.
    public var logitIndices: [Int] {
        var out = sequences.filter(\.wantsLogits).map { $0.tokenStart + $0.tokenCount - 1 }
        if !extraLogitIndices.isEmpty { out = Array(Set(out + extraLogitIndices)).sorted() }
        return out
    }

    /// The batch cut into consecutive parts of at most `maxTokens` tokens, each with the index of its first
    /// token in this batch. A sequence cut in two continues in the next part from the position where it
    /// stopped; parts carry no logit requests (the caller maps `logitIndices` onto them).
    func parts(maxTokens: Int) -> [(offset: Int, batch: ForwardBatch)] {
        if tokens.count <= maxTokens { return [(0, self)] }
        var parts: [(offset: Int, batch: ForwardBatch)] = []
        var current = ForwardBatch(), offset = 0
        for sequence in sequences {
            var done = 0
            while done < sequence.tokenCount {
                if current.tokens.count == maxTokens {
                    parts.append((offset, current))
                    offset += current.tokens.count
                    current = ForwardBatch()
                }
                let take = min(sequence.tokenCount - done, maxTokens - current.tokens.count)
                let start = sequence.tokenStart + done
                current.append(tokens: Array(tokens[start..<(start + take)]), startPosition: sequence.startPosition + done,
                               blockTables: sequence.blockTables, wantsLogits: false)
                done += take
            }
        }
        if !current.tokens.isEmpty { parts.append((offset, current)) }
        return parts
    }
}
