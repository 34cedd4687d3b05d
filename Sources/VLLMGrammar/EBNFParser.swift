/// Parses GBNF / xgrammar EBNF: `name ::= body` rules (`root` is the start), `"literals"` with escapes, character
/// classes (`[a-z]`, `[^"\\]`, escapes), rule names, `( )` groups, `|`, and the postfix operators `*` `+` `?`
/// `{m}` `{m,}` `{m,n}`. `#` starts a comment. A rule's body runs until the next `name ::=`.
struct EBNFParser {
    private let text: [Unicode.Scalar]
    private var i = 0

    init(_ source: String) { text = Array(source.unicodeScalars) }

    mutating func parse() throws(GrammarError) -> Grammar {
        var grammar = Grammar()
        skipSpace()
        while i < text.count {
            let start = i
            guard let name = identifier() else { throw error("expected a rule name") }
            skipSpace()
            guard consume("::=") else { i = start; throw error("expected '::=' after rule name '\(name)'") }
            if grammar.hasRule(name) { throw error("rule '\(name)' is defined twice") }
            let body = try alternatives()
            grammar.define(name, body)
            skipSpace()
        }
        if grammar.rules.isEmpty { throw GrammarError("the grammar is empty") }
        if !grammar.hasRule("root") { throw GrammarError("the grammar has no 'root' rule") }
        return grammar
    }

    private mutating func alternatives() throws(GrammarError) -> GrammarExpression {
        var alts = [try sequence()]
        while true {
            skipSpace()
            guard peek == "|" else { break }
            i += 1
            alts.append(try sequence())
        }
        return alts.count == 1 ? alts[0] : .choice(alts)
    }

    private mutating func sequence() throws(GrammarError) -> GrammarExpression {
        var parts: [GrammarExpression] = []
        while true {
            skipSpace()
            guard let c = peek, c != "|", c != ")" else { break }
            if isRuleStart() { break }
            var atom = try primary()
            while true {
                skipSpace()
                guard let op = peek else { break }
                if op == "*" { i += 1; atom = .repeated(atom, min: 0, max: nil) }
                else if op == "+" { i += 1; atom = .repeated(atom, min: 1, max: nil) }
                else if op == "?" { i += 1; atom = .repeated(atom, min: 0, max: 1) }
                else if op == "{" { atom = try bounds(atom) }
                else { break }
            }
            parts.append(atom)
        }
        return parts.count == 1 ? parts[0] : .sequence(parts)
    }

    private mutating func bounds(_ atom: GrammarExpression) throws(GrammarError) -> GrammarExpression {
        i += 1
        skipSpace()
        guard let low = number() else { throw error("expected a number after '{'") }
        skipSpace()
        var high: Int? = low
        if peek == "," {
            i += 1
            skipSpace()
            high = number()
            skipSpace()
        }
        guard peek == "}" else { throw error("expected '}' closing a repetition") }
        i += 1
        if let high, high < low { throw error("repetition {\(low),\(high)}: the maximum is below the minimum") }
        return .repeated(atom, min: low, max: high)
    }

    private mutating func primary() throws(GrammarError) -> GrammarExpression {
        guard let c = peek else { throw error("unexpected end of grammar") }
        switch c {
        case "\"":
            i += 1
            var bytes: [UInt8] = []
            while true {
                guard let d = peek else { throw error("unterminated string literal") }
                if d == "\"" { i += 1; break }
                if d == "\n" { throw error("newline in a string literal") }
                let scalar = try character(inClass: false)
                bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
            }
            return .bytes(bytes)
        case "[":
            i += 1
            var negated = false
            if peek == "^" { negated = true; i += 1 }
            var ranges: [ClosedRange<UInt32>] = []
            while true {
                guard let d = peek else { throw error("unterminated character class") }
                if d == "]" { i += 1; break }
                let low = try character(inClass: true).value
                if peek == "-", i + 1 < text.count, text[i + 1] != "]" {
                    i += 1
                    let high = try character(inClass: true).value
                    if high < low { throw error("character range is out of order") }
                    ranges.append(low...high)
                } else {
                    ranges.append(low...low)
                }
            }
            return .characters(CodepointClass(ranges, negated: negated))
        case "(":
            i += 1
            skipSpace()
            if peek == "=" { throw error("lookahead assertions '(= ...)' are not supported") }
            let inner = try alternatives()
            skipSpace()
            guard peek == ")" else { throw error("expected ')'") }
            i += 1
            return inner
        default:
            guard let name = identifier() else { throw error("unexpected character '\(c)'") }
            return .rule(name)
        }
    }

    /// One character of a literal or class, with its escape decoded.
    private mutating func character(inClass: Bool) throws(GrammarError) -> Unicode.Scalar {
        let c = text[i]
        i += 1
        guard c == "\\" else { return c }
        guard let e = peek else { throw error("unterminated escape") }
        i += 1
        switch e {
        case "n": return "\n"
        case "t": return "\t"
        case "r": return "\r"
        case "0": return "\0"
        case "f": return "\u{0C}"
        case "v": return "\u{0B}"
        case "b": return "\u{08}"
        case "a": return "\u{07}"
        case "e": return "\u{1B}"
        case "\\", "\"", "'", "[", "]", "-", "^", "/", "(", ")", "|", "*", "+", "?", ".", "{", "}": return e
        case "x", "u", "U":
            let digits = e == "x" ? 2 : e == "u" ? 4 : 8
            var v: UInt32 = 0
            for _ in 0..<digits {
                guard let h = peek, h.isASCII, let d = UInt32(String(h), radix: 16) else {
                    throw error("expected \(digits) hexadecimal digits after '\\\(e)'")
                }
                v = v * 16 + d
                i += 1
            }
            guard let s = Unicode.Scalar(v) else { throw error("invalid code point \\\(e)\(String(v, radix: 16))") }
            return s
        default: throw error("unknown escape '\\\(e)'")
        }
    }

    private var peek: Unicode.Scalar? { i < text.count ? text[i] : nil }

    private mutating func consume(_ s: String) -> Bool {
        let scalars = Array(s.unicodeScalars)
        guard i + scalars.count <= text.count, Array(text[i..<i + scalars.count]) == scalars else { return false }
        i += scalars.count
        return true
    }

    private static func isNameCharacter(_ c: Unicode.Scalar, first: Bool) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || (!first && ((c >= "0" && c <= "9") || c == "-" || c == "."))
    }

    private mutating func identifier() -> String? {
        guard let c = peek, Self.isNameCharacter(c, first: true) else { return nil }
        var s = ""
        while let c = peek, Self.isNameCharacter(c, first: s.isEmpty) { s.unicodeScalars.append(c); i += 1 }
        return s
    }

    private mutating func number() -> Int? {
        var v = 0, any = false
        while let c = peek, c >= "0" && c <= "9" {
            v = v * 10 + Int(c.value - 48)
            guard v <= 100_000 else { return nil }
            any = true
            i += 1
        }
        return any ? v : nil
    }

    /// Whether `name ::=` starts here (the end of the previous rule's body).
    private mutating func isRuleStart() -> Bool {
        let saved = i
        defer { i = saved }
        guard identifier() != nil else { return false }
        skipSpace()
        return consume("::=")
    }

    private mutating func skipSpace() {
        while let c = peek {
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1 }
            else if c == "#" { while let d = peek, d != "\n" { i += 1 } }
            else { break }
        }
    }

    private func error(_ message: String) -> GrammarError {
        var line = 1, column = 1
        for c in text[..<min(i, text.count)] { if c == "\n" { line += 1; column = 1 } else { column += 1 } }
        return GrammarError("grammar syntax error at line \(line), column \(column): \(message)")
    }
}
