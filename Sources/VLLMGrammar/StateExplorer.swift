/// A lazily built DFA over parser states: each distinct `ParserState` reached gets an id and a 256-entry transition
/// row filled on first use, so scanning many tokens that share bytes costs one table lookup per byte after the
/// first time. Owns a private copy of the stacks it extends.
struct StateExplorer {
    static let dead: Int32 = -1
    private static let unexplored: Int32 = -2

    let step: ParserStep
    var stacks: ParserStacks
    private(set) var states: [ParserState] = []
    private var ids: [ParserState: Int32] = [:]
    /// next[s * 256 + b]: the state after byte b from state s (`dead`, or `unexplored` until computed).
    private var next: [Int32] = []

    init(step: ParserStep, stacks: ParserStacks) {
        self.step = step
        self.stacks = stacks
    }

    /// The id of a state, adding it if new.
    mutating func id(of state: ParserState) -> Int32 {
        if let id = ids[state] { return id }
        let id = Int32(states.count)
        states.append(state)
        ids[state] = id
        next.append(contentsOf: repeatElement(Self.unexplored, count: 256))
        return id
    }

    /// The state after `byte`, or `dead` when no thread takes it.
    mutating func advance(_ state: Int32, _ byte: UInt8) -> Int32 {
        let slot = Int(state) * 256 + Int(byte)
        let known = next[slot]
        if known != Self.unexplored { return known }
        let s = states[Int(state)]
        var result = Self.dead
        if !s.threads.isEmpty {
            let after = step.advance(s, byte: byte, stacks: &stacks)
            if after.isAlive { result = id(of: after) }
        }
        next[slot] = result
        return result
    }
}
