/// A grammar compiled to a pushdown automaton over bytes: each rule is a small NFA whose edges consume a byte range,
/// move without input, or call another rule (push the return node, continue at the callee's start; the callee's end
/// node pops). Node ids are dense `Int32`s; rule `r` starts at `ruleStart[r]` and ends at `ruleEnd[r]`.
struct ByteAutomaton: Sendable {
    /// An edge consuming one byte in `low...high`.
    struct ByteEdge: Sendable { var low: UInt8; var high: UInt8; var target: Int32 }
    /// A call of `rule`, continuing at `returnNode` once it ends.
    struct Call: Sendable { var rule: Int32; var returnNode: Int32 }

    /// Per node: byte edges, empty moves, calls; `endOfRule[n]` is true at a rule's end node.
    private(set) var byteEdges: [[ByteEdge]] = []
    private(set) var emptyMoves: [[Int32]] = []
    private(set) var calls: [[Call]] = []
    private(set) var endOfRule: [Bool] = []
    /// Per rule: name, start node, end node.
    private(set) var ruleNames: [String] = []
    private(set) var ruleStart: [Int32] = []
    private(set) var ruleEnd: [Int32] = []
    /// The rule the automaton starts in.
    private(set) var rootRule: Int32 = 0

    /// The most nodes one grammar may have (large `{m,n}` counts are expanded, so they are bounded here).
    static let maxNodes = 2_000_000

    var nodeCount: Int { byteEdges.count }

    init(_ grammar: Grammar) throws(GrammarError) {
        var index: [String: Int32] = [:]
        for (i, rule) in grammar.rules.enumerated() {
            if index[rule.name] != nil { throw GrammarError("rule '\(rule.name)' is defined twice") }
            index[rule.name] = Int32(i)
            ruleNames.append(rule.name)
            ruleStart.append(newNode())
            ruleEnd.append(newNode())
            endOfRule[Int(ruleEnd[i])] = true
        }
        guard let root = index[grammar.root] else { throw GrammarError("the grammar has no '\(grammar.root)' rule") }
        rootRule = root
        for (i, rule) in grammar.rules.enumerated() {
            let end = try build(rule.body, from: ruleStart[i], index: index)
            emptyMoves[Int(end)].append(ruleEnd[i])
        }
        try rejectLeftRecursion()
    }

    private mutating func newNode() -> Int32 {
        byteEdges.append([])
        emptyMoves.append([])
        calls.append([])
        endOfRule.append(false)
        return Int32(byteEdges.count - 1)
    }

    /// Adds the NFA of `e` starting at node `start`; returns its end node.
    private mutating func build(_ e: GrammarExpression, from start: Int32, index: [String: Int32]) throws(GrammarError) -> Int32 {
        if nodeCount > Self.maxNodes { throw GrammarError("the grammar is too large (more than \(Self.maxNodes) states)") }
        switch e {
        case .bytes(let bytes):
            var node = start
            for b in bytes {
                let next = newNode()
                byteEdges[Int(node)].append(ByteEdge(low: b, high: b, target: next))
                node = next
            }
            return node
        case .characters(let cls):
            let end = newNode()
            for seq in cls.utf8Sequences {
                var node = start
                for (i, r) in seq.enumerated() {
                    let next = i == seq.count - 1 ? end : newNode()
                    byteEdges[Int(node)].append(ByteEdge(low: r.lowerBound, high: r.upperBound, target: next))
                    node = next
                }
            }
            return end
        case .sequence(let parts):
            var node = start
            for p in parts { node = try build(p, from: node, index: index) }
            return node
        case .choice(let alternatives):
            let end = newNode()
            for alt in alternatives {
                let a = newNode()
                emptyMoves[Int(start)].append(a)
                emptyMoves[Int(try build(alt, from: a, index: index))].append(end)
            }
            return end
        case .rule(let name):
            guard let r = index[name] else { throw GrammarError("rule '\(name)' is not defined") }
            let ret = newNode()
            calls[Int(start)].append(Call(rule: r, returnNode: ret))
            return ret
        case .repeated(let body, let min, let max):
            if let max, max < min { throw GrammarError("repetition {\(min),\(max)}: the maximum is below the minimum") }
            var node = start
            for _ in 0..<min {
                let a = newNode()
                emptyMoves[Int(node)].append(a)
                node = try build(body, from: a, index: index)
            }
            guard let max else {
                let loop = newNode()
                emptyMoves[Int(node)].append(loop)
                let a = newNode()
                emptyMoves[Int(loop)].append(a)
                emptyMoves[Int(try build(body, from: a, index: index))].append(loop)
                return loop
            }
            for _ in min..<max {
                let a = newNode(), end = newNode()
                emptyMoves[Int(node)].append(a)
                emptyMoves[Int(node)].append(end)
                emptyMoves[Int(try build(body, from: a, index: index))].append(end)
                node = end
            }
            return node
        }
    }

    /// Rules that can end without consuming input.
    private func nullableRules() -> [Bool] {
        var nullable = [Bool](repeating: false, count: ruleNames.count)
        var changed = true
        while changed {
            changed = false
            for r in ruleNames.indices where !nullable[r] {
                if reachesWithoutInput(from: ruleStart[r], nullable: nullable).end { nullable[r] = true; changed = true }
            }
        }
        return nullable
    }

    /// Walks empty moves (and calls of nullable rules) from `node`: the rules called on the way, and whether the rule's
    /// end is reached.
    private func reachesWithoutInput(from node: Int32, nullable: [Bool]) -> (called: Set<Int32>, end: Bool) {
        var seen: Set<Int32> = [node], work = [node], called: Set<Int32> = [], end = false
        while let n = work.popLast() {
            if endOfRule[Int(n)] { end = true }
            var next = emptyMoves[Int(n)]
            for c in calls[Int(n)] {
                called.insert(c.rule)
                if nullable[Int(c.rule)] { next.append(c.returnNode) }
            }
            for m in next where seen.insert(m).inserted { work.append(m) }
        }
        return (called, end)
    }

    /// A rule that can call itself before consuming any byte would make the pushdown automaton grow without bound.
    private func rejectLeftRecursion() throws(GrammarError) {
        let nullable = nullableRules()
        let first = ruleNames.indices.map { reachesWithoutInput(from: ruleStart[$0], nullable: nullable).called }
        for r in ruleNames.indices {
            var seen: Set<Int32> = [], work = Array(first[r])
            while let c = work.popLast() {
                if c == Int32(r) { throw GrammarError("rule '\(ruleNames[r])' is left-recursive, which is not supported") }
                if seen.insert(c).inserted { work.append(contentsOf: first[Int(c)]) }
            }
        }
    }
}
