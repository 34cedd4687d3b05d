/// Per-request state: where the output so far stands in the grammar. Fills each step's token bitmask and advances by
/// the sampled token. A value type; copies are independent.
public struct GrammarMatcher: Sendable {
    let grammar: CompiledGrammar
    private var stacks = ParserStacks()
    private var state: ParserState
    /// True after an end-of-generation token was accepted in an accepting state.
    public private(set) var isTerminated = false

    /// Starts at the beginning of the grammar.
    public init(_ grammar: CompiledGrammar) {
        self.grammar = grammar
        state = ParserStep(automaton: grammar.automaton).initial(stacks: &stacks)
    }

    /// Whether the output so far is a whole sentence of the grammar (end-of-generation is allowed now).
    public var canEnd: Bool { state.accepting }

    /// Writes the allowed-token bitmask for the next step: bit (i % 32) of word i / 32 set = token i allowed. The mask
    /// has (size + 31) / 32 words. End-of-generation ids are allowed exactly where the grammar may end; once nothing
    /// else can follow, only they are.
    public mutating func fillNextTokenBitmask(_ mask: UnsafeMutableBufferPointer<UInt32>) {
        let words = min(mask.count, grammar.vocabulary.maskWords)
        for i in mask.indices { mask[i] = 0 }
        if !isTerminated {
            var candidates: [Int32] = []
            var lastNode: Int32 = -1
            for t in state.threads where t.node != lastNode {
                lastNode = t.node
                let entry = grammar.masks.entry(t.node)
                entry.accepted.withUnsafeBufferPointer { a in
                    for i in 0..<words { mask[i] |= a[i] }
                }
                candidates.append(contentsOf: entry.needsContext)
            }
            if !candidates.isEmpty { checkWithStack(candidates, mask) }
        }
        if state.accepting || isTerminated {
            for id in grammar.vocabulary.endOfGeneration where Int(id) >> 5 < words {
                mask[Int(id) >> 5] |= 1 << UInt32(id & 31)
            }
        }
    }

    /// Decides the tokens whose acceptance depends on the stack by running them from the real state.
    private mutating func checkWithStack(_ candidates: [Int32], _ mask: UnsafeMutableBufferPointer<UInt32>) {
        var positions = candidates
        positions.sort()
        var unique: [Int32] = []
        unique.reserveCapacity(positions.count)
        let trie = grammar.trie
        for p in positions where unique.last != p {
            let id = Int(trie.sortedIDs[Int(p)])
            if mask[id >> 5] & (1 << UInt32(id & 31)) == 0 { unique.append(p) }
        }
        guard !unique.isEmpty else { return }
        var explorer = StateExplorer(step: ParserStep(automaton: grammar.automaton), stacks: stacks)
        let start = explorer.id(of: state)
        TokenScan(trie: trie).run(from: start, explorer: &explorer, positions: unique) { k, verdict in
            if verdict == .accepted {
                let id = Int(trie.sortedIDs[Int(k)])
                mask[id >> 5] |= 1 << UInt32(id & 31)
            }
        }
        // Frames the scan pushed are interned and harmless; keep them so later steps reuse them.
        stacks = explorer.stacks
    }

    /// Advances by one sampled token; returns false (and leaves the state unchanged) if the grammar does not allow it.
    public mutating func accept(_ token: Int32) -> Bool {
        guard !isTerminated else { return false }
        let vocabulary = grammar.vocabulary
        if vocabulary.endOfGeneration.contains(token) {
            guard state.accepting else { return false }
            isTerminated = true
            return true
        }
        guard token >= 0, Int(token) < vocabulary.tokenBytes.count, !vocabulary.tokenBytes[Int(token)].isEmpty else {
            return false
        }
        var newStacks = stacks
        guard let next = ParserStep(automaton: grammar.automaton).advance(state, bytes: vocabulary.tokenBytes[Int(token)],
                                                                           stacks: &newStacks),
              !next.threads.isEmpty || next.accepting else { return false }
        state = next
        stacks = newStacks
        return true
    }

    /// Accepts each token of a string's worth of tokens in turn; false at the first one refused (for tests).
    public mutating func accept(_ tokens: [Int32]) -> Bool {
        for t in tokens where !accept(t) { return false }
        return true
    }
}
