/// Tokens of a Jinja expression or statement body.
enum ExprToken: Equatable {
    case name(String)
    case string(String)
    case int(Int)
    case float(Double)
    case op(String)
    case end
}

/// Tokenizes the inside of `{{ }}` and `{% %}`.
struct ExpressionLexer {
    static let operators = ["//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "(", ")", "[", "]",
                            "{", "}", ".", ",", ":", "|", "="]

    static func tokenize(_ text: String, at location: SourceLocation) throws -> [ExprToken] {
        let chars = Array(text)
        var tokens: [ExprToken] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c.isWhitespace { i += 1; continue }
            if c.isLetter || c == "_" {
                var j = i
                while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
                tokens.append(.name(String(chars[i..<j])))
                i = j
                continue
            }
            if c.isASCII, c.isNumber {
                var j = i
                var isFloat = false
                while j < chars.count, chars[j].isASCII, chars[j].isNumber || chars[j] == "_" { j += 1 }
                if j + 1 < chars.count, chars[j] == ".", chars[j + 1].isASCII, chars[j + 1].isNumber {
                    isFloat = true
                    j += 1
                    while j < chars.count, chars[j].isASCII, chars[j].isNumber { j += 1 }
                }
                if j < chars.count, chars[j] == "e" || chars[j] == "E" {
                    var k = j + 1
                    if k < chars.count, chars[k] == "+" || chars[k] == "-" { k += 1 }
                    if k < chars.count, chars[k].isASCII, chars[k].isNumber {
                        isFloat = true
                        j = k
                        while j < chars.count, chars[j].isASCII, chars[j].isNumber { j += 1 }
                    }
                }
                let literal = String(chars[i..<j]).replacingUnderscores()
                if isFloat {
                    tokens.append(.float(Double(literal) ?? 0))
                } else {
                    guard let value = Int(literal) else {
                        throw TemplateError("integer literal \(literal.prefix(40)) does not fit in 64 bits (the sandbox has no big integers)",
                                            line: location.line, column: location.column, kind: .limit)
                    }
                    tokens.append(.int(value))
                }
                i = j
                continue
            }
            if c == "'" || c == "\"" {
                var j = i + 1
                var value = ""
                while j < chars.count, chars[j] != c {
                    if chars[j] == "\\", j + 1 < chars.count {
                        j += 1
                        switch chars[j] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        case "\\": value.append("\\")
                        case "'": value.append("'")
                        case "\"": value.append("\"")
                        case "u" where j + 4 < chars.count:
                            if let v = UInt32(String(chars[(j + 1)...(j + 4)]), radix: 16), let s = Unicode.Scalar(v) {
                                value.unicodeScalars.append(s)
                                j += 4
                            } else { value.append("\\u") }
                        default: value.append("\\"); value.append(chars[j])
                        }
                    } else {
                        value.append(chars[j])
                    }
                    j += 1
                }
                if j >= chars.count { throw TemplateError("unterminated string", line: location.line, column: location.column) }
                tokens.append(.string(value))
                i = j + 1
                continue
            }
            var matched = false
            for op in operators {
                let opChars = Array(op)
                if i + opChars.count <= chars.count, Array(chars[i..<(i + opChars.count)]) == opChars {
                    tokens.append(.op(op))
                    i += opChars.count
                    matched = true
                    break
                }
            }
            if !matched { throw TemplateError("unexpected character '\(c)'", line: location.line, column: location.column) }
        }
        tokens.append(.end)
        return tokens
    }
}

extension String {
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
