/// How a token fares from a parser state.
enum TokenVerdict: UInt8, Sendable {
    case rejected = 0
    case accepted = 1
    /// The token leaves the rule the state is in; whether it fits depends on the stack below (precomputation only).
    case needsContext = 2
}

/// Runs tokens, in byte order, through the parser from one state, sharing the work on common prefixes.
struct TokenScan {
    let trie: VocabularyTrie

    /// Calls `verdict(sortedPosition, verdict)` for each listed sorted position (ascending); positions not listed are
    /// not visited. `positions` nil means every token.
    func run(from start: Int32, explorer: inout StateExplorer, positions: [Int32]?,
             _ verdict: (Int32, TokenVerdict) -> Void) {
        let depth = trie.longestToken + 1
        var path = [Int32](repeating: 0, count: depth)  // path[d]: state after d bytes of the current token
        var context = [Bool](repeating: false, count: depth)  // whether a path popped into the unknown stack by then
        path[0] = start
        context[0] = explorer.states[Int(start)].needsContext
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
                    context[d + 1] = context[d] || explorer.states[Int(s)].needsContext
                    d += 1
                }
                valid = d
                if alive {
                    let final = explorer.states[Int(path[d])]
                    if !final.threads.isEmpty || final.accepting { verdict(k, .accepted); continue }
                }
                verdict(k, context[d] ? .needsContext : .rejected)
            }
        }
    }
}
