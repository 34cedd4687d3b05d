/// A grammar over Unicode text, as every constraint kind compiles to it before it becomes a byte automaton:
/// named rules whose bodies are expressions; `root` is the start.
struct Grammar: Sendable, Hashable {
    /// Rule bodies by name, in definition order (the order only matters for error messages and debugging).
    var rules: [(name: String, body: GrammarExpression)] = []
    var root = "root"

    static func == (a: Grammar, b: Grammar) -> Bool {
        a.root == b.root && a.rules.count == b.rules.count
            && zip(a.rules, b.rules).allSatisfy { $0.name == $1.name && $0.body == $1.body }
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(root)
        for rule in rules { hasher.combine(rule.name); hasher.combine(rule.body) }
    }

    /// Whether a rule of this name exists.
    func hasRule(_ name: String) -> Bool { rules.contains { $0.name == name } }

    /// Adds a rule, or replaces the body of an existing one.
    mutating func define(_ name: String, _ body: GrammarExpression) {
        if let i = rules.firstIndex(where: { $0.name == name }) { rules[i].body = body } else { rules.append((name, body)) }
    }

    /// The grammar in xgrammar's EBNF notation (for debugging and error messages).
    var ebnf: String { rules.map { "\($0.name) ::= \($0.body.ebnf)" }.joined(separator: "\n") }
}

/// One expression of a rule body.
indirect enum GrammarExpression: Sendable, Hashable {
    /// A literal byte string (UTF-8 of the literal's text).
    case bytes([UInt8])
    /// One code point from a class, matched as its UTF-8 bytes.
    case characters(CodepointClass)
    /// Each part in turn; an empty sequence matches the empty string.
    case sequence([GrammarExpression])
    /// Any one of the alternatives.
    case choice([GrammarExpression])
    /// A reference to a named rule.
    case rule(String)
    /// `min` to `max` (nil: unbounded) repetitions.
    case repeated(GrammarExpression, min: Int, max: Int?)

    static let empty = GrammarExpression.sequence([])

    /// A literal string.
    static func literal(_ text: String) -> GrammarExpression { .bytes(Array(text.utf8)) }

    /// Zero or more repetitions.
    static func star(_ e: GrammarExpression) -> GrammarExpression { .repeated(e, min: 0, max: nil) }

    /// Zero or one.
    static func optional(_ e: GrammarExpression) -> GrammarExpression { .repeated(e, min: 0, max: 1) }

    var ebnf: String {
        switch self {
        case .bytes(let b):
            var s = "\""
            for c in String(decoding: b, as: UTF8.self).unicodeScalars {
                switch c {
                case "\"": s += "\\\""
                case "\\": s += "\\\\"
                case "\n": s += "\\n"
                case "\t": s += "\\t"
                case "\r": s += "\\r"
                default: s.unicodeScalars.append(c)
                }
            }
            return s + "\""
        case .characters(let c): return c.ebnf
        case .sequence(let parts): return parts.isEmpty ? "\"\"" : "(" + parts.map(\.ebnf).joined(separator: " ") + ")"
        case .choice(let alts): return "(" + alts.map(\.ebnf).joined(separator: " | ") + ")"
        case .rule(let name): return name
        case .repeated(let e, let min, let max):
            switch (min, max) {
            case (0, nil): return e.ebnf + "*"
            case (1, nil): return e.ebnf + "+"
            case (0, 1): return e.ebnf + "?"
            default: return e.ebnf + "{\(min),\(max.map(String.init) ?? "")}"
            }
        }
    }
}
