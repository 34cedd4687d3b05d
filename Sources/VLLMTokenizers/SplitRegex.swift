/// A backtracking regular-expression matcher for the pre-tokenizer split patterns of real tokenizers
/// (Perl/ECMAScript semantics: leftmost match, alternatives tried in order, greedy or lazy quantifiers).
///
/// Supported: literals and escapes, `.`, classes `[...]` with ranges and negation, `\p{..}` / `\P{..}`,
/// `\s \S \d \D \w \W`, groups `(...)` and `(?:...)`, lookahead `(?=...)` / `(?!...)`, anchors `^` `$`,
/// quantifiers `? * + {n} {n,} {n,m}` with an optional lazy `?`, and the `(?i)` prefix.
public struct SplitRegex: Sendable {
    enum Instruction: Sendable {
        case scalar(UInt32)
        case scalarFold(UInt32, UInt32)
        case cls(Int)
        case any
        case split(Int, Int)
        case jump(Int)
        case start
        case end
        case look(negative: Bool, body: Int, next: Int)
        case match
    }

    let program: [Instruction]
    let classes: [CharacterClass]
    /// The source pattern.
    public let pattern: String

    /// Compiles `pattern`; throws `TokenizerError.invalidRegex` naming the problem.
    public init(_ pattern: String) throws {
        self.pattern = pattern
        var parser = RegexParser(Array(pattern.unicodeScalars))
        let tree = try parser.parseAll()
        var compiler = RegexCompiler(caseInsensitive: parser.caseInsensitive)
        compiler.emit(tree)
        compiler.program.append(.match)
        program = compiler.program
        classes = compiler.classes
    }

    /// The end of the match starting exactly at `start`, or nil.
    func match(_ text: UnsafeBufferPointer<UInt32>, at start: Int, lower: Int, upper: Int) -> Int? {
        run(text, pc: 0, pos: start, lower: lower, upper: upper)
    }

    private func run(_ text: UnsafeBufferPointer<UInt32>, pc startPC: Int, pos startPos: Int, lower: Int, upper: Int) -> Int? {
        var stack: [(Int, Int)] = [(startPC, startPos)]
        var steps = 0
        while let (initialPC, initialPos) = stack.popLast() {
            var pc = initialPC, pos = initialPos
            thread: while true {
                steps += 1
                if steps > 1_000_000 { return nil }
                switch program[pc] {
                case let .scalar(value):
                    guard pos < upper, text[pos] == value else { break thread }
                    pos += 1; pc += 1
                case let .scalarFold(a, b):
                    guard pos < upper, text[pos] == a || text[pos] == b else { break thread }
                    pos += 1; pc += 1
                case let .cls(index):
                    guard pos < upper, classes[index].contains(text[pos]) else { break thread }
                    pos += 1; pc += 1
                case .any:
                    guard pos < upper, text[pos] != 10 else { break thread }
                    pos += 1; pc += 1
                case let .split(first, second):
                    stack.append((second, pos))
                    pc = first
                case let .jump(target):
                    pc = target
                case .start:
                    guard pos == lower else { break thread }
                    pc += 1
                case .end:
                    guard pos == upper else { break thread }
                    pc += 1
                case let .look(negative, body, next):
                    let matched = run(text, pc: body, pos: pos, lower: lower, upper: upper) != nil
                    guard matched != negative else { break thread }
                    pc = next
                case .match:
                    return pos
                }
            }
        }
        return nil
    }

    /// Splits `text[lower..<upper]` into alternating gaps and matches (both kept, none empty), appending
    /// the boundaries of each piece to `pieces`.
    func split(_ text: UnsafeBufferPointer<UInt32>, lower: Int, upper: Int, into pieces: inout [Range<Int>]) {
        var gapStart = lower, pos = lower
        while pos < upper {
            if let end = match(text, at: pos, lower: lower, upper: upper), end > pos {
                if gapStart < pos { pieces.append(gapStart..<pos) }
                pieces.append(pos..<end)
                pos = end
                gapStart = end
            } else {
                pos += 1
            }
        }
        if gapStart < upper { pieces.append(gapStart..<upper) }
    }
}
