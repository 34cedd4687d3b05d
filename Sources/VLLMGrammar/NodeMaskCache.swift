import Synchronization

/// xgrammar's adaptive token mask cache: per automaton node that waits for a byte, the tokens accepted from it
/// whatever the stack below (a bitmask by token id), and the few whose fate depends on that stack (they leave the
/// current rule inside the token), which the matcher checks at run time. Tokens in neither set are rejected.
/// Filled lazily, on a node's first use, and shared by every matcher of the grammar.
final class NodeMaskCache: Sendable {
    /// What is known about the tokens from one node.
    struct Entry: Sendable {
        /// Bit (id % 32) of word id / 32: accepted from this node on any stack.
        var accepted: [UInt32]
        /// Sorted positions (in `VocabularyTrie` order) of the tokens that need the real stack.
        var needsContext: [Int32]
    }

    private let automaton: ByteAutomaton
    private let trie: VocabularyTrie
    private let words: Int
    private let entries = Mutex<[Int32: Entry]>([:])

    init(automaton: ByteAutomaton, trie: VocabularyTrie, words: Int) {
        self.automaton = automaton
        self.trie = trie
        self.words = words
    }

    /// The entry of `node`, computing it on first use.
    func entry(_ node: Int32) -> Entry {
        if let e = entries.withLock({ $0[node] }) { return e }
        let e = compute(node)
        entries.withLock { $0[node] = e }
        return e
    }

    /// Number of nodes computed so far.
    var computedCount: Int { entries.withLock { $0.count } }

    /// Computes the entries of every node that waits for a byte (what xgrammar does at compile time).
    func computeAll() {
        for n in 0..<automaton.nodeCount where !automaton.byteEdges[n].isEmpty { _ = entry(Int32(n)) }
    }

    private func compute(_ node: Int32) -> Entry {
        var explorer = StateExplorer(step: ParserStep(automaton: automaton), stacks: ParserStacks())
        let start = explorer.id(of: ParserState(threads: [ParserThread(node: node, stack: ParserStacks.unknown)]))
        var accepted = [UInt32](repeating: 0, count: words)
        var needsContext: [Int32] = []
        TokenScan(trie: trie).run(from: start, explorer: &explorer, positions: nil) { k, verdict in
            switch verdict {
            case .accepted:
                let id = Int(trie.sortedIDs[Int(k)])
                accepted[id >> 5] |= 1 << UInt32(id & 31)
            case .needsContext: needsContext.append(k)
            case .rejected: break
            }
        }
        return Entry(accepted: accepted, needsContext: needsContext)
    }
}
