/// Recursive-descent parser for Jinja expressions (precedence as in jinja2's parser).
struct ExpressionParser {
    var tokens: [ExprToken]
    var index = 0
    let location: SourceLocation
    /// Levels of the expression tree being built: parentheses, brackets, operator chains, filters, attributes.
    private var depth = 0
    let maxDepth: Int

    init(_ tokens: [ExprToken], location: SourceLocation, maxDepth: Int) {
        self.tokens = tokens
        self.location = location
        self.maxDepth = maxDepth
    }

    /// One level deeper; deep trees would overflow the stack of this parser, of the renderer and of their release.
    private mutating func deeper() throws {
        depth += 1
        if depth > maxDepth {
            throw TemplateError("expression nested deeper than \(maxDepth) levels (parentheses, brackets, operator chains, filters)",
                                line: location.line, column: location.column, kind: .limit)
        }
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

    /// Whether an attribute, subscript, call, filter or test follows (each one more level in the tree).
    var continuesPostfix: Bool { [.op("."), .op("["), .op("("), .op("|")].contains(current) || isName("is") }

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
        try deeper()
        defer { depth -= 1 }
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

    /// `operand (op operand)*`, left-associative, for the operators `operatorHere` recognises at the current token
    /// (it returns the operator and how many tokens it takes); each operator is one level deeper in the tree.
    private mutating func leftChain(_ operatorHere: (ExpressionParser) -> (String, Int)?,
                                    _ operand: (inout ExpressionParser) throws -> Expr) throws -> Expr {
        var added = 0
        defer { depth -= added }
        var left = try operand(&self)
        while let (op, length) = operatorHere(self) {
            try deeper()
            added += 1
            for _ in 0..<length { advance() }
            left = .binary(op, left, try operand(&self))
        }
        return left
    }

    /// The operator token at the current position if it is one of `ops`.
    private func op(_ ops: Set<String>) -> (String, Int)? {
        if case let .op(o) = current, ops.contains(o) { return (o, 1) }
        return nil
    }

    mutating func parseOr() throws -> Expr {
        try leftChain({ $0.isName("or") ? ("or", 1) : nil }) { try $0.parseAnd() }
    }

    mutating func parseAnd() throws -> Expr {
        try leftChain({ $0.isName("and") ? ("and", 1) : nil }) { try $0.parseNot() }
    }

    mutating func parseNot() throws -> Expr {
        if isName("not") {
            try deeper()
            defer { depth -= 1 }
            advance()
            return .unary("not", try parseNot())
        }
        return try parseCompare()
    }

    mutating func parseCompare() throws -> Expr {
        try leftChain({ p in
            if let comparison = p.op(["==", "!=", "<", "<=", ">", ">="]) { return comparison }
            if p.isName("in") { return ("in", 1) }
            if p.isName("not"), p.peek() == .name("in") { return ("not in", 2) }
            return nil
        }) { try $0.parseMath1() }
    }

    mutating func parseMath1() throws -> Expr { try leftChain({ $0.op(["+", "-"]) }) { try $0.parseConcat() } }

    mutating func parseConcat() throws -> Expr { try leftChain({ $0.op(["~"]) }) { try $0.parseMath2() } }

    mutating func parseMath2() throws -> Expr { try leftChain({ $0.op(["*", "/", "//", "%"]) }) { try $0.parsePow() } }

    mutating func parsePow() throws -> Expr { try leftChain({ $0.op(["**"]) }) { try $0.parseUnary() } }

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
            try deeper()
            defer { depth -= 1 }
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
        var added = 0
        defer { depth -= added }
        var node = start
        while true {
            if continuesPostfix { try deeper(); added += 1 }
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
        var added = 0
        defer { depth -= added }
        var node = start
        while true {
            if continuesPostfix { try deeper(); added += 1 }
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
