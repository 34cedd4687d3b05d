/// The pushdown automaton's stacks, shared as a tree: a stack is the id of its top frame, each frame holds a return
/// node and its parent's id. Frames are interned, so equal stacks have equal ids and a set of parser threads compares
/// by value. Id 0 is the empty stack (the root rule's level). When token masks are precomputed per node the stack
/// below is not known: `unknown` stands for it, and `guessed` for any stack the parse may have returned into after
/// leaving the node's rule (it continues at every call site of the rule): a token that only fits on a guessed stack
/// must be checked against the real one.
struct ParserStacks: Sendable {
    static let empty: Int32 = 0
    static let unknown: Int32 = -1
    static let guessed: Int32 = -2

    /// Frame `i` (i >= 1): (return node, parent frame id).
    private(set) var returnNode: [Int32] = [-1]
    private(set) var parent: [Int32] = [-1]
    /// Whether frame i lies on a guessed stack.
    private(set) var isGuessed: [Bool] = [false]
    private var index: [UInt64: Int32] = [:]

    /// The stack with `node` pushed on `stack`.
    mutating func push(_ node: Int32, on stack: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: node)) << 32 | UInt64(UInt32(bitPattern: stack))
        if let id = index[key] { return id }
        let id = Int32(returnNode.count)
        returnNode.append(node)
        parent.append(stack)
        isGuessed.append(stack == Self.guessed || (stack > 0 && isGuessed[Int(stack)]))
        index[key] = id
        return id
    }

    var count: Int { returnNode.count }

    /// Whether a thread on `stack` continues a guessed return.
    func guessed(_ stack: Int32) -> Bool { stack == Self.guessed || (stack > 0 && isGuessed[Int(stack)]) }
}

/// One configuration of the pushdown automaton: at `node`, with `stack` below.
struct ParserThread: Sendable, Hashable, Comparable {
    var node: Int32
    var stack: Int32

    static func < (a: ParserThread, b: ParserThread) -> Bool { (a.node, a.stack) < (b.node, b.stack) }
}

/// The set of configurations after some input: the threads waiting for a byte, whether the input so far is a whole
/// sentence (`accepting`), and whether it may be one on a guessed stack (`mayEndGuessed`, only when masks are
/// precomputed without the real stack).
struct ParserState: Sendable, Hashable {
    var threads: [ParserThread] = []
    var accepting = false
    var mayEndGuessed = false

    /// Whether any continuation (or the end) is still possible.
    var isAlive: Bool { !threads.isEmpty || accepting || mayEndGuessed }
}
