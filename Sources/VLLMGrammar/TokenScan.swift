/// How a token fares from a parser state.
enum TokenVerdict: UInt8, Sendable {
    case rejected = 0
    case accepted = 1
    /// The token fits only if the parse returns from the node's rule into a caller that the real stack may or may not
    /// hold (precomputation only).
    case needsContext = 2
}

/// Runs tokens, in byte order, through the parser from one state, sharing the work on common prefixes.
struct TokenScan {
    let trie: VocabularyTrie

    /// Walks the whole vocabulary trie from `start`, skipping every subtree whose prefix is already rejected; calls
    /// `verdict(tokenID, verdict)` for each token not rejected.
    func runAll(from start: Int32, explorer: inout StateExplorer, _ verdict: (Int32, TokenVerdict) -> Void) {
        var path = [Int32](repeating: 0, count: trie.longestToken + 1)  // path[d]: state after the node at depth d
        path[0] = start
        let count = trie.nodeByte.count
        var n = 1
        while n < count {
            let d = Int(trie.nodeDepth[n])
            let s = explorer.advance(path[d - 1], trie.nodeByte[n])
            if s == StateExplorer.dead {
                n = Int(trie.subtreeEnd[n])
                continue
            }
            path[d] = s
            let c = Int(trie.tokenCount[n])
            if c > 0 {
                let v = explorer.verdicts[Int(s)]
                if v != .rejected {
                    let f = Int(trie.tokenFirst[n])
                    for i in f..<f + c { verdict(trie.nodeTokens[i], v) }
                }
            }
            n += 1
        }
    }

    /// Calls `verdict(sortedPosition, verdict)` for each listed sorted position (ascending); positions not listed are
    /// not visited. `positions` nil means every token.
    func run(from start: Int32, explorer: inout StateExplorer, positions: [Int32]?,
             _ verdict: (Int32, TokenVerdict) -> Void) {
        let depth = trie.longestToken + 1
        var path = [Int32](repeating: 0, count: depth)  // path[d]: state after d bytes of the current token
        path[0] = start
        var valid = 0  // path[0...valid] is valid for the previous token
        var previous: ArraySlice<UInt8> = []
        let count = positions?.count ?? trie.sortedIDs.count
        trie.bytes.withUnsafeBufferPointer { all in
            for i in 0..<count {
                let k = positions?[i] ?? Int32(i)
                let id = trie.sortedIDs[Int(k)]
                let lo = Int(trie.offset[Int(id)]), hi = Int(trie.offset[Int(id) + 1])
                var shared: Int
                if positions == nil {
                    shared = Int(trie.commonPrefix[Int(k)])
                } else {
                    shared = 0
                    let p = previous
                    while shared < p.count && lo + shared < hi && p[p.startIndex + shared] == all[lo + shared] { shared += 1 }
                    previous = trie.bytes[lo..<hi]
                }
                var d = min(shared, valid)
                var alive = true
                while d < hi - lo {
                    let s = explorer.advance(path[d], all[lo + d])
                    if s == StateExplorer.dead { alive = false; break }
                    path[d + 1] = s
                    d += 1
                }
                valid = d
                verdict(k, alive ? explorer.verdicts[Int(path[d])] : .rejected)
            }
        }
    }
}
