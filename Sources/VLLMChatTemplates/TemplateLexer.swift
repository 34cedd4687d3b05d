/// Splits template source into text, `{{ }}` output and `{% %}` statement segments, applying Jinja's whitespace
/// rules as Hugging Face configures them: `trim_blocks`, `lstrip_blocks`, and `-` / `+` markers.
struct TemplateLexer {
    enum Segment {
        case text(String)
        case output(String, SourceLocation)
        case statement(String, SourceLocation)
    }

    let source: [Character]
    var trimBlocks = true
    var lstripBlocks = true

    /// The offset where each line starts (after each newline).
    private let lineStarts: [Int]

    init(_ source: String) {
        self.source = Array(source)
        var starts = [0]
        for (i, c) in self.source.enumerated() where c == "\n" || c == "\r\n" { starts.append(i + 1) }
        lineStarts = starts
    }

    /// Line and column (1-based, in characters) of `offset`, by binary search over the line starts.
    func location(of offset: Int) -> SourceLocation {
        let offset = min(offset, source.count)
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return SourceLocation(line: low + 1, column: offset - lineStarts[low] + 1)
    }

    func segments() throws -> [Segment] {
        var out: [Segment] = []
        var pos = 0
        var lineStarting = true
        var pendingLeftStrip = false
        let n = source.count
        while pos < n {
            // Find the next tag opening.
            var tagStart = pos
            var kind: Character = " "
            while tagStart < n - 1 {
                if source[tagStart] == "{", ["{", "%", "#"].contains(source[tagStart + 1]) { kind = source[tagStart + 1]; break }
                tagStart += 1
            }
            if kind == " " { tagStart = n }
            var text = String(source[pos..<tagStart])
            if pendingLeftStrip { text = String(text.drop { $0.isWhitespace }); pendingLeftStrip = false }
            if tagStart >= n {
                if !text.isEmpty { out.append(.text(text)) }
                break
            }
            let marker: Character? = tagStart + 2 < n ? source[tagStart + 2] : nil
            if marker == "-" {
                while let last = text.last, last.isWhitespace { text.removeLast() }
            } else if marker != "+", lstripBlocks, kind != "{" {
                let lastNewline = text.lastIndex(where: { $0 == "\n" || $0 == "\r\n" })
                let lineStart = lastNewline.map { text.index(after: $0) } ?? text.startIndex
                if lastNewline != nil || lineStarting, text[lineStart...].allSatisfy({ $0 == " " || $0 == "\t" }) {
                    text = String(text[..<lineStart])
                }
            }
            if !text.isEmpty { out.append(.text(text)) }
            let bodyStart = tagStart + 2 + ((marker == "-" || marker == "+") ? 1 : 0)
            let closer: Character = kind == "{" ? "}" : kind
            // Find the closing delimiter, skipping quoted strings in expressions.
            var i = bodyStart
            var quote: Character? = nil
            var closeAt = -1
            while i < n - 1 {
                let c = source[i]
                if let q = quote {
                    if c == "\\" { i += 2; continue }
                    if c == q { quote = nil }
                } else if kind != "#" && (c == "'" || c == "\"") {
                    quote = c
                } else if c == closer && source[i + 1] == "}" {
                    closeAt = i
                    break
                }
                i += 1
            }
            if closeAt < 0 { throw TemplateError("unclosed tag", line: location(of: tagStart).line, column: location(of: tagStart).column) }
            var bodyEnd = closeAt
            var rightMarker: Character? = nil
            if bodyEnd > bodyStart, source[bodyEnd - 1] == "-" || source[bodyEnd - 1] == "+" {
                rightMarker = source[bodyEnd - 1]
                bodyEnd -= 1
            }
            let body = String(source[bodyStart..<max(bodyStart, bodyEnd)])
            pos = closeAt + 2
            let loc = location(of: tagStart)
            var consumedNewline = false
            if rightMarker == "-" {
                pendingLeftStrip = true
                var j = pos
                while j < n, source[j].isWhitespace { j += 1 }
                consumedNewline = j > pos && (source[j - 1] == "\n" || source[j - 1] == "\r\n")
                pos = j
                pendingLeftStrip = false
            } else if kind != "{", rightMarker != "+", trimBlocks, pos < n, source[pos] == "\n" || source[pos] == "\r\n" {
                pos += 1
                consumedNewline = true
            }
            lineStarting = consumedNewline
            switch kind {
            case "{": out.append(.output(body, loc))
            case "%":
                let trimmed = body.trimmingWhitespace()
                if trimmed == "raw" {
                    // Everything up to {% endraw %} is literal text.
                    guard let (rawText, after) = rawBlock(from: pos) else { throw TemplateError("missing endraw", line: loc.line, column: loc.column) }
                    out.append(.text(rawText))
                    pos = after
                    lineStarting = false
                } else {
                    out.append(.statement(body, loc))
                }
            default: break
            }
        }
        return out
    }

    private func rawBlock(from start: Int) -> (String, Int)? {
        var i = start
        while i < source.count - 1 {
            if source[i] == "{", source[i + 1] == "%" {
                var j = i + 2
                if j < source.count, source[j] == "-" { j += 1 }
                var word = ""
                while j < source.count, source[j].isWhitespace { j += 1 }
                while j < source.count, source[j].isLetter { word.append(source[j]); j += 1 }
                if word == "endraw" {
                    while j < source.count - 1, !(source[j] == "%" && source[j + 1] == "}") { j += 1 }
                    return (String(source[start..<i]), j + 2)
                }
            }
            i += 1
        }
        return nil
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
