/// Compiles a regular expression (the JavaScript / Python subset xgrammar accepts) to a grammar expression that
/// matches the whole output: alternation, groups (`(...)`, `(?:...)`, named), classes with ranges and negation,
/// `.` (any character but newline), `\d \w \s` and their negations, escapes, and the quantifiers `* + ? {m} {m,}
/// {m,n}` (a trailing `?` or `+` making them lazy or possessive changes nothing for a full match). `^` and `$` are
/// accepted and ignored. Backreferences, lookaround, word boundaries and `\p{...}` are refused by name.
struct RegexParser {
    private let text: [Unicode.Scalar]
    private var i = 0

    init(_ pattern: String) { text = Array(pattern.unicodeScalars) }

    static let digit: [ClosedRange<UInt32>] = [48...57]
    static let word: [ClosedRange<UInt32>] = [48...57, 65...90, 95...95, 97...122]
    static let space: [ClosedRange<UInt32>] = [9...13, 32...32, 0xA0...0xA0]

    mutating func parse() throws(GrammarError) -> GrammarExpression {
        let e = try alternatives()
        if i < text.count { throw error("unbalanced ')'") }
        return e
    }

    private mutating func alternatives() throws(GrammarError) -> GrammarExpression {
        var alts = [try sequence()]
        while peek == "|" {
            i += 1
            alts.append(try sequence())
        }
        return alts.count == 1 ? alts[0] : .choice(alts)
    }

    private mutating func sequence() throws(GrammarError) -> GrammarExpression {
        var parts: [GrammarExpression] = []
        while let c = peek, c != "|", c != ")" {
            if c == "^" || c == "$" { i += 1; continue }
            var atom = try primary()
            while let q = peek {
                var low = 0, high: Int? = nil
                if q == "*" { i += 1 }
                else if q == "+" { i += 1; low = 1 }
                else if q == "?" { i += 1; high = 1 }
                else if q == "{", let b = try bounds() { (low, high) = b }
                else { break }
                if peek == "?" || peek == "+" { i += 1 }
                atom = .repeated(atom, min: low, max: high)
            }
            parts.append(atom)
        }
        return parts.count == 1 ? parts[0] : .sequence(parts)
    }

    /// `{m}`, `{m,}`, `{m,n}`; nil (and nothing consumed) when the brace is a literal.
    private mutating func bounds() throws(GrammarError) -> (Int, Int?)? {
        let start = i
        i += 1
        guard let low = number() else { i = start; return nil }
        var high: Int? = low
        if peek == "," { i += 1; high = number() }
        guard peek == "}" else { i = start; return nil }
        i += 1
        if let high, high < low { throw error("repetition {\(low),\(high)}: the maximum is below the minimum") }
        return (low, high)
    }

    private mutating func primary() throws(GrammarError) -> GrammarExpression {
        let c = text[i]
        i += 1
        switch c {
        case "(":
            if peek == "?" {
                i += 1
                if peek == ":" { i += 1 }
                else if peek == "P" || peek == "<" {
                    if peek == "P" { i += 1 }
                    guard peek == "<" else { throw error("unsupported group syntax") }
                    if i + 1 < text.count, text[i + 1] == "=" || text[i + 1] == "!" { throw error("lookbehind is not supported") }
                    while let d = peek, d != ">" { i += 1 }
                    i += 1
                } else if peek == "=" || peek == "!" { throw error("lookahead is not supported") }
                else { throw error("unsupported group syntax '(?\(peek.map(String.init) ?? "")'") }
            }
            let inner = try alternatives()
            guard peek == ")" else { throw error("the parenthesis is not closed") }
            i += 1
            return inner
        case "[": return .characters(try characterClass())
        case ".": return .characters(CodepointClass([10...10], negated: true))
        case "\\": return try escape(inClass: false)
        case "*", "+", "?": throw error("nothing to repeat before '\(c)'")
        default: return .bytes(Array(String(Character(c)).utf8))
        }
    }

    private mutating func characterClass() throws(GrammarError) -> CodepointClass {
        var negated = false
        if peek == "^" { negated = true; i += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard let c = peek else { throw error("the character class is not closed") }
            if c == "]" && !first { i += 1; break }
            first = false
            i += 1
            var low: UInt32
            if c == "\\" {
                switch try escape(inClass: true) {
                case .characters(let cls):
                    if cls.negated || cls.ranges.count != 1 || cls.ranges[0].count != 1 {
                        ranges.append(contentsOf: cls.normalizedRanges)
                        continue
                    }
                    low = cls.ranges[0].lowerBound
                default: throw error("unsupported escape in a character class")
                }
            } else {
                low = c.value
            }
            if peek == "-", i + 1 < text.count, text[i + 1] != "]" {
                i += 1
                let d = text[i]
                i += 1
                var high = d.value
                if d == "\\" {
                    guard case .characters(let cls) = try escape(inClass: true), !cls.negated, cls.ranges.count == 1,
                          cls.ranges[0].count == 1 else { throw error("invalid range end in a character class") }
                    high = cls.ranges[0].lowerBound
                }
                if high < low { throw error("character range is out of order") }
                ranges.append(low...high)
            } else {
                ranges.append(low...low)
            }
        }
        return CodepointClass(ranges, negated: negated)
    }

    /// The escape after a backslash (already consumed), as a one-character or multi-character class.
    private mutating func escape(inClass: Bool) throws(GrammarError) -> GrammarExpression {
        guard let e = peek else { throw error("the escape sequence is not finished") }
        i += 1
        func one(_ v: UInt32) -> GrammarExpression { .characters(CodepointClass([v...v])) }
        switch e {
        case "d": return .characters(CodepointClass(Self.digit))
        case "D": return .characters(CodepointClass(Self.digit, negated: true))
        case "w": return .characters(CodepointClass(Self.word))
        case "W": return .characters(CodepointClass(Self.word, negated: true))
        case "s": return .characters(CodepointClass(Self.space))
        case "S": return .characters(CodepointClass(Self.space, negated: true))
        case "n": return one(10)
        case "t": return one(9)
        case "r": return one(13)
        case "f": return one(12)
        case "v": return one(11)
        case "0": return one(0)
        case "b" where inClass: return one(8)
        case "b", "B": throw error("word boundaries (\\\(e)) are not supported")
        case "p", "P": throw error("Unicode property escapes (\\\(e){...}) are not supported")
        case "1"..."9", "k": throw error("backreferences are not supported")
        case "x", "u":
            var v: UInt32 = 0, n = 0
            let braced = peek == "{"
            if braced { i += 1 }
            while let h = peek, h.isASCII, let d = UInt32(String(h), radix: 16), braced || n < (e == "x" ? 2 : 4) {
                v = v * 16 + d
                n += 1
                i += 1
            }
            if braced { guard peek == "}" else { throw error("unterminated \\\(e){...}") }; i += 1 }
            guard n > 0, v <= 0x10FFFF else { throw error("invalid \\\(e) escape") }
            return one(v)
        default:
            if (e >= "a" && e <= "z") || (e >= "A" && e <= "Z") { throw error("unknown escape '\\\(e)'") }
            return one(e.value)
        }
    }

    private var peek: Unicode.Scalar? { i < text.count ? text[i] : nil }

    private mutating func number() -> Int? {
        var v = 0, any = false
        while let c = peek, c >= "0" && c <= "9" {
            v = v * 10 + Int(c.value - 48)
            any = true
            i += 1
            if v > 100_000 { return nil }
        }
        return any ? v : nil
    }

    private func error(_ message: String) -> GrammarError {
        GrammarError("regex syntax error at position \(i): \(message)")
    }
}
