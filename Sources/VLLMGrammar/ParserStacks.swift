/// The pushdown automaton's stacks, shared as a tree: a stack is the id of its top frame, each frame holds a return
/// node and its parent's id. Frames are interned, so equal stacks have equal ids and a set of parser threads compares
/// by value. Id 0 is the empty stack (the root rule's level); `unknown` stands for "some stack not known here", used
/// when token masks are precomputed per node.
struct ParserStacks: Sendable {
    static let empty: Int32 = 0
    static let unknown: Int32 = -1

    /// Frame `i` (i >= 1): (return node, parent frame id).
    private(set) var returnNode: [Int32] = [-1]
    private(set) var parent: [Int32] = [-1]
    private var index: [UInt64: Int32] = [:]

    /// The stack with `node` pushed on `stack`.
    mutating func push(_ node: Int32, on stack: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: node)) << 32 | UInt64(UInt32(bitPattern: stack))
        if let id = index[key] { return id }
        let id = Int32(returnNode.count)
        returnNode.append(node)
        parent.append(stack)
        index[key] = id
        return id
    }

    var count: Int { returnNode.count }
}

/// One configuration of the pushdown automaton: at `node`, with `stack` below.
struct ParserThread: Sendable, Hashable, Comparable {
    var node: Int32
    var stack: Int32

    static func < (a: ParserThread, b: ParserThread) -> Bool { (a.node, a.stack) < (b.node, b.stack) }
}

/// The set of configurations after some input: the threads waiting for a byte, whether the input so far is a whole
/// sentence (`accepting`), and whether some path popped into an unknown stack (`needsContext`, only when masks are
/// precomputed without the real stack).
struct ParserState: Sendable, Hashable {
    var threads: [ParserThread] = []
    var accepting = false
    var needsContext = false

    /// Whether any continuation (or the end) is still possible.
    var isAlive: Bool { !threads.isEmpty || accepting || needsContext }
}
