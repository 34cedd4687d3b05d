/// A constraint compiled for one vocabulary: the byte automaton, the vocabulary's trie and the per-node token masks.
/// Immutable apart from the lazily filled mask cache; share it between requests with the same constraint.
public final class CompiledGrammar: Sendable {
    let automaton: ByteAutomaton
    let vocabulary: TokenVocabulary
    let trie: VocabularyTrie
    let masks: NodeMaskCache
    /// The grammar in EBNF (for debugging).
    let ebnf: String

    init(grammar: Grammar, vocabulary: TokenVocabulary, trie: VocabularyTrie) throws(GrammarError) {
        automaton = try ByteAutomaton(grammar)
        self.vocabulary = vocabulary
        self.trie = trie
        masks = NodeMaskCache(automaton: automaton, trie: trie, words: vocabulary.maskWords)
        ebnf = grammar.ebnf
    }

    /// Precomputes the token masks of every node now instead of on first use.
    public func precomputeMasks() { masks.computeAll() }

    /// Number of automaton nodes, and how many have their token masks computed.
    public var statistics: (nodes: Int, masksComputed: Int) { (automaton.nodeCount, masks.computedCount) }
}
