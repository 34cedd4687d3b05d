/// The syntax tree of a split pattern.
indirect enum RegexNode: Sendable {
    case scalar(UInt32)
    case cls(CharacterClass)
    case any
    case start
    case end
    case sequence([RegexNode])
    case alternation([RegexNode])
    case repeatNode(RegexNode, min: Int, max: Int?, greedy: Bool)
    case look(RegexNode, negative: Bool)
}

/// Recursive-descent parser for SplitRegex patterns.
struct RegexParser {
    private let chars: [Unicode.Scalar]
    private var index = 0
    private(set) var caseInsensitive = false

    init(_ chars: [Unicode.Scalar]) { self.chars = chars }

    private var atEnd: Bool { index >= chars.count }
    private func peek(_ offset: Int = 0) -> Unicode.Scalar? { index + offset < chars.count ? chars[index + offset] : nil }

    private func fail(_ message: String) -> TokenizerError {
        .invalidRegex("\(message) at offset \(index) in /\(String(String.UnicodeScalarView(chars)))/")
    }

    mutating func parseAll() throws -> RegexNode {
        if chars.starts(with: Array("(?i)".unicodeScalars)) { caseInsensitive = true; index = 4 }
        let node = try parseAlternation()
        if !atEnd { throw fail("unexpected ')'") }
        return node
    }

    private mutating func parseAlternation() throws -> RegexNode {
        var branches = [try parseSequence()]
        while peek() == "|" {
            index += 1
            branches.append(try parseSequence())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseSequence() throws -> RegexNode {
        var items: [RegexNode] = []
        while let c = peek(), c != "|", c != ")" {
            var atom = try parseAtom()
            atom = try parseQuantifiers(atom)
            items.append(atom)
        }
        return .sequence(items)
    }

    private mutating func parseQuantifiers(_ atom: RegexNode) throws -> RegexNode {
        var node = atom
        while let c = peek() {
            var minimum = 0, maximum: Int? = nil
            switch c {
            case "?": maximum = 1; index += 1
            case "*": index += 1
            case "+": minimum = 1; index += 1
            case "{":
                guard let (lo, hi, length) = parseBraces() else { return node }
                minimum = lo; maximum = hi; index += length
            default: return node
            }
            var greedy = true
            if peek() == "?" { greedy = false; index += 1 } else if peek() == "+" { index += 1 }
            node = .repeatNode(node, min: minimum, max: maximum, greedy: greedy)
        }
        return node
    }

    /// `{n}`, `{n,}`, `{n,m}` at the current index: (min, max, length), or nil when it is a literal brace.
    private func parseBraces() -> (Int, Int?, Int)? {
        var i = index + 1, first = "", second = "", sawComma = false
        while i < chars.count, chars[i] != "}" {
            let c = chars[i]
            if c == "," { if sawComma { return nil }; sawComma = true }
            else if c.properties.numericType == .decimal, c.isASCII { if sawComma { second.unicodeScalars.append(c) } else { first.unicodeScalars.append(c) } }
            else { return nil }
            i += 1
        }
        guard i < chars.count, let lo = Int(first) else { return nil }
        let hi: Int? = sawComma ? (second.isEmpty ? nil : Int(second)) : lo
        return (lo, hi, i - index + 1)
    }

    private mutating func parseAtom() throws -> RegexNode {
        let c = chars[index]
        index += 1
        switch c {
        case ".": return .any
        case "^": return .start
        case "$": return .end
        case "(":
            var negative = false, isLook = false
            if peek() == "?" {
                switch peek(1) {
                case ":": index += 2
                case "=": index += 2; isLook = true
                case "!": index += 2; isLook = true; negative = true
                default: throw fail("unsupported group")
                }
            }
            let inner = try parseAlternation()
            guard peek() == ")" else { throw fail("missing ')'") }
            index += 1
            return isLook ? .look(inner, negative: negative) : inner
        case "[": return .cls(try parseClass())
        case "\\": return try parseEscape(inClass: false)
        case ")": throw fail("unbalanced ')'")
        default: return .scalar(c.value)
        }
    }

    private mutating func parseClass() throws -> CharacterClass {
        var negated = false
        if peek() == "^" { negated = true; index += 1 }
        var items: [CharacterClass.Item] = []
        var first = true
        while let c = peek(), c != "]" || first {
            first = false
            index += 1
            var low: UInt32
            if c == "\\" {
                let escaped = try parseEscape(inClass: true)
                switch escaped {
                case let .cls(inner): items.append(.nested(inner)); continue
                case let .scalar(value): low = value
                default: throw fail("bad escape in class")
                }
            } else if c == "[" && peek() == ":" {
                throw fail("POSIX classes are not supported")
            } else {
                low = c.value
            }
            if peek() == "-", let next = peek(1), next != "]" {
                index += 1
                var high: UInt32
                if next == "\\" {
                    index += 1
                    guard case let .scalar(value) = try parseEscape(inClass: true) else { throw fail("bad range") }
                    high = value
                } else {
                    index += 1
                    high = next.value
                }
                items.append(.range(low, high))
            } else {
                items.append(.range(low, low))
            }
        }
        guard peek() == "]" else { throw fail("missing ']'") }
        index += 1
        return CharacterClass(items: items, negated: negated)
    }

    private mutating func parseEscape(inClass: Bool) throws -> RegexNode {
        guard let c = peek() else { throw fail("trailing backslash") }
        index += 1
        func single(_ item: CharacterClass.Item) -> RegexNode { .cls(CharacterClass(items: [item], negated: false)) }
        switch c {
        case "s": return single(.whitespace(negated: false))
        case "S": return single(.whitespace(negated: true))
        case "d": return single(.digit(negated: false))
        case "D": return single(.digit(negated: true))
        case "w": return single(.word(negated: false))
        case "W": return single(.word(negated: true))
        case "n": return .scalar(10)
        case "r": return .scalar(13)
        case "t": return .scalar(9)
        case "f": return .scalar(12)
        case "v": return .scalar(11)
        case "0": return .scalar(0)
        case "p", "P":
            guard peek() == "{", let close = chars[index...].firstIndex(of: "}") else { throw fail("bad \\p") }
            let name = String(String.UnicodeScalarView(chars[(index + 1)..<close]))
            index = close + 1
            return single(.category(name, negated: c == "P"))
        case "u", "x":
            let digits = c == "u" ? 4 : 2
            guard index + digits <= chars.count,
                  let value = UInt32(String(String.UnicodeScalarView(chars[index..<(index + digits)])), radix: 16)
            else { throw fail("bad \\\(c) escape") }
            index += digits
            return .scalar(value)
        default: return .scalar(c.value)
        }
    }
}
