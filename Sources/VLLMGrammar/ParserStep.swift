/// Advancing a `ParserState` through the automaton: the closure over empty moves, calls and returns, and one byte.
struct ParserStep {
    let automaton: ByteAutomaton

    /// The deepest stack a walk may build before it is refused (a guard; left recursion is rejected at compile time).
    static let maxStackFrames = 1_000_000

    /// The state at the start of the grammar.
    func initial(stacks: inout ParserStacks) -> ParserState {
        closure(of: [ParserThread(node: automaton.ruleStart[Int(automaton.rootRule)], stack: ParserStacks.empty)],
                stacks: &stacks)
    }

    /// Follows empty moves, calls and returns from `seeds`; keeps the threads that wait for a byte.
    func closure(of seeds: [ParserThread], stacks: inout ParserStacks) -> ParserState {
        var state = ParserState()
        var seen = Set<ParserThread>(minimumCapacity: seeds.count * 4)
        var work = seeds
        while let t = work.popLast() {
            guard seen.insert(t).inserted else { continue }
            let n = Int(t.node)
            if !automaton.byteEdges[n].isEmpty { state.threads.append(t) }
            for m in automaton.emptyMoves[n] { work.append(ParserThread(node: m, stack: t.stack)) }
            for c in automaton.calls[n] {
                let pushed = stacks.push(c.returnNode, on: t.stack)
                if stacks.count > Self.maxStackFrames { continue }
                work.append(ParserThread(node: automaton.ruleStart[Int(c.rule)], stack: pushed))
            }
            if automaton.endOfRule[n] {
                switch t.stack {
                case ParserStacks.empty: state.accepting = true
                case ParserStacks.unknown: state.needsContext = true
                default: work.append(ParserThread(node: stacks.returnNode[Int(t.stack)], stack: stacks.parent[Int(t.stack)]))
                }
            }
        }
        state.threads.sort()
        return state
    }

    /// The state after one more byte (threads only; `accepting` and `needsContext` are recomputed).
    func advance(_ state: ParserState, byte: UInt8, stacks: inout ParserStacks) -> ParserState {
        var seeds: [ParserThread] = []
        for t in state.threads {
            for e in automaton.byteEdges[Int(t.node)] where e.low <= byte && byte <= e.high {
                seeds.append(ParserThread(node: e.target, stack: t.stack))
            }
        }
        if seeds.isEmpty { return ParserState(threads: [], accepting: false, needsContext: false) }
        return closure(of: seeds, stacks: &stacks)
    }

    /// The state after `bytes`, or nil once nothing matches.
    func advance(_ state: ParserState, bytes: [UInt8], stacks: inout ParserStacks) -> ParserState? {
        var s = state
        for b in bytes {
            s = advance(s, byte: b, stacks: &stacks)
            if s.threads.isEmpty && !s.accepting && !s.needsContext { return nil }
        }
        return s
    }
}
