/// Recursive-descent parser for Jinja expressions (precedence as in jinja2's parser).
struct ExpressionParser {
    var tokens: [ExprToken]
    var index = 0
    let location: SourceLocation

    init(_ tokens: [ExprToken], location: SourceLocation) {
        self.tokens = tokens
        self.location = location
    }

    var current: ExprToken { tokens[index] }
    func peek(_ offset: Int = 1) -> ExprToken { index + offset < tokens.count ? tokens[index + offset] : .end }
    mutating func advance() { if index < tokens.count - 1 { index += 1 } }

    func error(_ message: String) -> TemplateError { TemplateError(message, line: location.line, column: location.column) }

    mutating func expect(_ op: String) throws {
        guard current == .op(op) else { throw error("expected '\(op)', found \(describe(current))") }
        advance()
    }

    func isName(_ word: String) -> Bool { current == .name(word) }

    mutating func expectName() throws -> String {
        guard case let .name(n) = current else { throw error("expected a name, found \(describe(current))") }
        advance()
        return n
    }

    func describe(_ token: ExprToken) -> String {
        switch token {
        case let .name(n): "'\(n)'"
        case let .string(s): "string '\(s)'"
        case let .int(v): "\(v)"
        case let .float(v): "\(v)"
        case let .op(o): "'\(o)'"
        case .end: "end of expression"
        }
    }

    mutating func parseExpression(allowConditional: Bool = true) throws -> Expr {
        let value = try parseOr()
        if allowConditional, isName("if") {
            advance()
            let condition = try parseOr()
            var otherwise: Expr? = nil
            if isName("else") { advance(); otherwise = try parseExpression() }
            return .conditional(condition, then: value, otherwise: otherwise)
        }
        return value
    }

    mutating func parseOr() throws -> Expr {
        var left = try parseAnd()
        while isName("or") { advance(); left = .binary("or", left, try parseAnd()) }
        return left
    }

    mutating func parseAnd() throws -> Expr {
        var left = try parseNot()
        while isName("and") { advance(); left = .binary("and", left, try parseNot()) }
        return left
    }

    mutating func parseNot() throws -> Expr {
        if isName("not") { advance(); return .unary("not", try parseNot()) }
        return try parseCompare()
    }

    mutating func parseCompare() throws -> Expr {
        var left = try parseMath1()
        while true {
            if case let .op(o) = current, ["==", "!=", "<", "<=", ">", ">="].contains(o) {
                advance()
                left = .binary(o, left, try parseMath1())
            } else if isName("in") {
                advance()
                left = .binary("in", left, try parseMath1())
            } else if isName("not"), peek() == .name("in") {
                advance(); advance()
                left = .binary("not in", left, try parseMath1())
            } else {
                return left
            }
        }
    }

    mutating func parseMath1() throws -> Expr {
        var left = try parseConcat()
        while case let .op(o) = current, o == "+" || o == "-" { advance(); left = .binary(o, left, try parseConcat()) }
        return left
    }

    mutating func parseConcat() throws -> Expr {
        var left = try parseMath2()
        while current == .op("~") { advance(); left = .binary("~", left, try parseMath2()) }
        return left
    }

    mutating func parseMath2() throws -> Expr {
        var left = try parsePow()
        while case let .op(o) = current, ["*", "/", "//", "%"].contains(o) { advance(); left = .binary(o, left, try parsePow()) }
        return left
    }

    mutating func parsePow() throws -> Expr {
        var left = try parseUnary()
        while current == .op("**") { advance(); left = .binary("**", left, try parseUnary()) }
        return left
    }

    mutating func parseUnary() throws -> Expr {
        if case let .op(o) = current, o == "-" || o == "+" {
            // As jinja2: the sign binds tighter than filters and tests (`-3|abs` is abs(-3)).
            advance()
            return try parseFilterAndTests(.unary(o, try parseUnaryOperand()))
        }
        var node = try parsePrimary()
        node = try parsePostfix(node)
        return try parseFilterAndTests(node)
    }

    mutating func parseUnaryOperand() throws -> Expr {
        if case let .op(o) = current, o == "-" || o == "+" {
            advance()
            return .unary(o, try parseUnaryOperand())
        }
        return try parsePostfix(try parsePrimary())
    }

    mutating func parsePrimary() throws -> Expr {
        let token = current
        advance()
        switch token {
        case let .name(n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case let .string(s):
            var value = s
            while case let .string(more) = current { value += more; advance() }
            return .literal(.string(value))
        case let .int(v): return .literal(.int(v))
        case let .float(v): return .literal(.double(v))
        case .op("("):
            if current == .op(")") { advance(); return .list([]) }
            let first = try parseExpression()
            if current == .op(",") {
                var items = [first]
                while current == .op(",") {
                    advance()
                    if current == .op(")") { break }
                    items.append(try parseExpression())
                }
                try expect(")")
                return .list(items)
            }
            try expect(")")
            return first
        case .op("["):
            var items: [Expr] = []
            while current != .op("]") {
                items.append(try parseExpression())
                if current == .op(",") { advance() } else { break }
            }
            try expect("]")
            return .list(items)
        case .op("{"):
            var pairs: [(Expr, Expr)] = []
            while current != .op("}") {
                let key = try parseExpression()
                try expect(":")
                pairs.append((key, try parseExpression()))
                if current == .op(",") { advance() } else { break }
            }
            try expect("}")
            return .dict(pairs)
        default:
            throw error("unexpected \(describe(token))")
        }
    }

    mutating func parsePostfix(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            if current == .op(".") {
                advance()
                switch current {
                case let .name(n): advance(); node = .attribute(node, n)
                case let .int(v): advance(); node = .item(node, .literal(.int(v)))
                default: throw error("expected an attribute name")
                }
            } else if current == .op("[") {
                advance()
                node = try parseSubscript(node)
            } else if current == .op("(") {
                advance()
                let (args, kwargs) = try parseArguments()
                node = .call(node, args, kwargs)
            } else {
                return node
            }
        }
    }

    mutating func parseSubscript(_ base: Expr) throws -> Expr {
        var parts: [Expr?] = [nil]
        var sawColon = false
        while current != .op("]") {
            if current == .op(":") { advance(); parts.append(nil); sawColon = true; continue }
            parts[parts.count - 1] = try parseExpression()
        }
        try expect("]")
        if !sawColon {
            guard let index = parts[0] else { throw error("empty subscript") }
            return .item(base, index)
        }
        while parts.count < 3 { parts.append(nil) }
        return .slice(base, parts[0], parts[1], parts[2])
    }

    /// Arguments after an opening parenthesis, through the closing one.
    mutating func parseArguments() throws -> ([Expr], [(String, Expr)]) {
        var args: [Expr] = []
        var kwargs: [(String, Expr)] = []
        while current != .op(")") {
            if case let .name(n) = current, peek() == .op("=") {
                advance(); advance()
                kwargs.append((n, try parseExpression()))
            } else {
                args.append(try parseExpression())
            }
            if current == .op(",") { advance() } else { break }
        }
        try expect(")")
        return (args, kwargs)
    }

    mutating func parseFilterAndTests(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            if current == .op("|") {
                advance()
                var name = try expectName()
                while current == .op(".") { advance(); name += "." + (try expectName()) }
                var args: [Expr] = [], kwargs: [(String, Expr)] = []
                if current == .op("(") { advance(); (args, kwargs) = try parseArguments() }
                node = .filter(node, name, args, kwargs)
            } else if isName("is") {
                advance()
                var negated = false
                if isName("not") { advance(); negated = true }
                let name = try expectName()
                var args: [Expr] = []
                if current == .op("(") {
                    advance()
                    args = try parseArguments().0
                } else if startsPrimary(current) {
                    args = [try parsePostfix(try parsePrimary())]
                }
                node = .test(node, name, args, negated: negated)
            } else {
                return node
            }
        }
    }

    func startsPrimary(_ token: ExprToken) -> Bool {
        switch token {
        case .string, .int, .float: return true
        case let .name(n): return !["and", "or", "if", "else", "in", "not", "is"].contains(n)
        case .op("["), .op("{"): return true
        default: return false
        }
    }
}
