import Foundation

/// vLLM's Lark → EBNF rewrite (`convert_lark_to_ebnf`), applied when a grammar has no `::=`: line based, each
/// `name: definition` becomes `name ::= definition` (a leading `?` dropped), lines starting with `|` add alternatives
/// to the rule above, single-quoted literals become double-quoted, and `root ::= start` (or the first rule) is added.
enum LarkConverter {
    /// Whether a grammar looks like Lark: no line (comments removed) holds `::=`.
    static func isLikelyLark(_ grammar: String) -> Bool {
        !grammar.split(separator: "\n", omittingEmptySubsequences: false).contains { stripComment($0).contains("::=") }
    }

    static func convert(_ grammar: String) throws(GrammarError) -> String {
        let lines = grammar.split(separator: "\n", omittingEmptySubsequences: false).map(stripComment)
        var first: String? = nil
        for line in lines where !line.isEmpty && !line.hasPrefix("|") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = ruleName(line[..<colon])
            if first == nil || name == "start" { first = name }
        }
        guard let first else { throw GrammarError("Lark grammar: no rules found") }
        var out = ["root ::= \(first)"], current: String? = nil, definitions: [String] = []
        for (n, line) in lines.enumerated() where !line.isEmpty {
            if !line.hasPrefix("|"), let colon = line.firstIndex(of: ":") {
                if let current { out.append("\(current) ::= \(definitions.joined(separator: " | "))") }
                let name = ruleName(line[..<colon])
                current = name
                definitions = [try doubleQuoted(String(line[line.index(after: colon)...]), line: n + 1)]
            } else if line.hasPrefix("|") {
                guard current != nil else {
                    throw GrammarError("Lark grammar, line \(n + 1): alternative '|' without a preceding rule")
                }
                definitions.append(try doubleQuoted(String(line.dropFirst()), line: n + 1))
            }
        }
        if let current { out.append("\(current) ::= \(definitions.joined(separator: " | "))") }
        return out.joined(separator: "\n")
    }

    private static func ruleName(_ s: Substring) -> String {
        var name = s.trimmingSpaces
        while name.hasPrefix("?") { name.removeFirst() }
        while name.hasSuffix("?") { name.removeLast() }
        return name
    }

    /// `'text'` → `"text"`; quotes must pair up.
    private static func doubleQuoted(_ definition: String, line: Int) throws(GrammarError) -> String {
        if definition.filter({ $0 == "'" }).count % 2 != 0 || definition.filter({ $0 == "\"" }).count % 2 != 0 {
            throw GrammarError("Lark grammar, line \(line): mismatched quotes")
        }
        var out = "", inSingle = false
        for c in definition {
            if c == "'" { out.append("\""); inSingle.toggle() } else { out.append(c) }
        }
        return out.trimmingSpaces
    }

    /// The line without a `#` or `//` comment, trimmed.
    private static func stripComment(_ line: Substring) -> String {
        var s = String(line)
        if let hash = s.firstIndex(of: "#") { s = String(s[..<hash]) }
        if let slashes = s.range(of: "//") { s = String(s[..<slashes.lowerBound]) }
        return s.trimmingSpaces
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces, tabs and carriage returns.
    var trimmingSpaces: String {
        let chars = Array(self)
        var lo = 0, hi = chars.count
        while lo < hi, chars[lo] == " " || chars[lo] == "\t" || chars[lo] == "\r" { lo += 1 }
        while hi > lo, chars[hi - 1] == " " || chars[hi - 1] == "\t" || chars[hi - 1] == "\r" { hi -= 1 }
        return String(chars[lo..<hi])
    }
}
