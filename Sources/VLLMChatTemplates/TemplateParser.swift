/// Builds the statement tree from lexer segments.
struct TemplateParser {
    private var segments: [TemplateLexer.Segment]
    private var index = 0
    private let budget: RenderBudget
    /// Blocks (`if`, `for`, `macro`, ...) open around the current segment.
    private var blockDepth = 0

    init(source: String, budget: RenderBudget) throws {
        self.budget = budget
        segments = try TemplateLexer(source).segments()
    }

    private func expressionParser(_ body: String, _ loc: SourceLocation) throws -> ExpressionParser {
        try budget.spend(body.utf8.count)
        return ExpressionParser(try ExpressionLexer.tokenize(body, at: loc), location: loc, maxDepth: budget.limits.maxParseDepth)
    }

    mutating func parse() throws -> [Node] {
        let (nodes, end) = try parseBlock(until: [])
        if let (word, _, loc) = end { throw TemplateError("unexpected '\(word)'", line: loc.line, column: loc.column) }
        return nodes
    }

    /// Parses nodes until a statement whose first word is in `terminators`; returns it (word, parser at its rest, location).
    private mutating func parseBlock(until terminators: Set<String>) throws -> ([Node], (String, ExpressionParser, SourceLocation)?) {
        if !terminators.isEmpty {
            blockDepth += 1
            if blockDepth > budget.limits.maxParseDepth {
                throw TemplateError("blocks nested deeper than \(budget.limits.maxParseDepth) levels", kind: .limit)
            }
        }
        defer { if !terminators.isEmpty { blockDepth -= 1 } }
        var nodes: [Node] = []
        while index < segments.count {
            let segment = segments[index]
            index += 1
            switch segment {
            case let .text(text): nodes.append(.text(text))
            case let .output(body, loc):
                var p = try expressionParser(body, loc)
                let expr = try p.parseExpression()
                guard p.current == .end else { throw p.error("unexpected \(p.describe(p.current)) in output") }
                nodes.append(.output(expr, loc))
            case let .statement(body, loc):
                var p = try expressionParser(body, loc)
                let word = try p.expectName()
                if terminators.contains(word) { return (nodes, (word, p, loc)) }
                nodes.append(try parseStatement(word, &p, loc))
            }
        }
        if !terminators.isEmpty {
            throw TemplateError("unexpected end of template; expected one of: \(terminators.sorted().joined(separator: ", "))")
        }
        return (nodes, nil)
    }

    private func finish(_ p: ExpressionParser) throws {
        guard p.current == .end else { throw p.error("unexpected \(p.describe(p.current))") }
    }

    private mutating func parseStatement(_ word: String, _ p: inout ExpressionParser, _ loc: SourceLocation) throws -> Node {
        switch word {
        case "if":
            var branches: [(Expr, [Node])] = []
            var condition = try p.parseExpression()
            try finish(p)
            while true {
                let (body, end) = try parseBlock(until: ["elif", "else", "endif"])
                branches.append((condition, body))
                guard let (w, parsed, _) = end else { break }
                var rest = parsed
                if w == "elif" {
                    condition = try rest.parseExpression()
                    try finish(rest)
                    continue
                }
                if w == "else" {
                    let (elseBody, _) = try parseBlock(until: ["endif"])
                    return .conditional(branches, otherwise: elseBody, loc)
                }
                break
            }
            return .conditional(branches, otherwise: [], loc)
        case "for":
            var names = [try p.expectName()]
            while p.current == .op(",") { p.advance(); names.append(try p.expectName()) }
            guard p.isName("in") else { throw p.error("expected 'in' in for loop") }
            p.advance()
            let iterable = try p.parseExpression(allowConditional: false)
            var filter: Expr? = nil
            if p.isName("if") { p.advance(); filter = try p.parseExpression(allowConditional: false) }
            if p.isName("recursive") { p.advance() }
            try finish(p)
            let (body, end) = try parseBlock(until: ["else", "endfor"])
            var otherwise: [Node] = []
            if end?.0 == "else" { otherwise = try parseBlock(until: ["endfor"]).0 }
            return .loop(names.count == 1 ? .name(names[0]) : .names(names), iterable, filter: filter, body: body,
                         otherwise: otherwise, loc)
        case "set":
            let target = try parseTarget(&p)
            if p.current == .op("=") {
                p.advance()
                var value = try p.parseExpression()
                if p.current == .op(",") {
                    var items = [value]
                    while p.current == .op(",") { p.advance(); items.append(try p.parseExpression()) }
                    value = .list(items)
                }
                try finish(p)
                return .assign(target, value, loc)
            }
            var filters: [(String, [Expr], [(String, Expr)])] = []
            while p.current == .op("|") {
                p.advance()
                let name = try p.expectName()
                var args: [Expr] = [], kwargs: [(String, Expr)] = []
                if p.current == .op("(") { p.advance(); (args, kwargs) = try p.parseArguments() }
                filters.append((name, args, kwargs))
            }
            try finish(p)
            let (body, _) = try parseBlock(until: ["endset"])
            return .blockAssign(target, filters: filters, body: body, loc)
        case "macro":
            let name = try p.expectName()
            try p.expect("(")
            let params = try parseParameters(&p)
            try finish(p)
            let (body, _) = try parseBlock(until: ["endmacro"])
            return .macro(name, params, body: body)
        case "call":
            var params: [(String, Expr?)] = []
            if p.current == .op("(") { p.advance(); params = try parseParameters(&p) }
            let call = try p.parseExpression()
            try finish(p)
            let (body, _) = try parseBlock(until: ["endcall"])
            return .callBlock(call, params, body: body, loc)
        case "filter":
            var filters: [(String, [Expr], [(String, Expr)])] = []
            repeat {
                if p.current == .op("|") { p.advance() }
                let name = try p.expectName()
                var args: [Expr] = [], kwargs: [(String, Expr)] = []
                if p.current == .op("(") { p.advance(); (args, kwargs) = try p.parseArguments() }
                filters.append((name, args, kwargs))
            } while p.current == .op("|")
            try finish(p)
            let (body, _) = try parseBlock(until: ["endfilter"])
            return .filterBlock(filters, body: body, loc)
        case "break": try finish(p); return .breakLoop
        case "continue": try finish(p); return .continueLoop
        case "do":
            let expr = try p.parseExpression()
            try finish(p)
            return .expression(expr, loc)
        case "generation":
            // transformers' assistant-mask extension: renders its body unchanged.
            let (body, _) = try parseBlock(until: ["endgeneration"])
            return .conditional([(.literal(.bool(true)), body)], otherwise: [], loc)
        default:
            throw TemplateError("unknown tag '\(word)'", line: loc.line, column: loc.column)
        }
    }

    private func parseTarget(_ p: inout ExpressionParser) throws -> Target {
        let first = try p.expectName()
        if p.current == .op(".") {
            p.advance()
            return .attribute(first, try p.expectName())
        }
        if p.current == .op(",") {
            var names = [first]
            while p.current == .op(",") { p.advance(); names.append(try p.expectName()) }
            return .names(names)
        }
        return .name(first)
    }

    private func parseParameters(_ p: inout ExpressionParser) throws -> [(String, Expr?)] {
        var params: [(String, Expr?)] = []
        while p.current != .op(")") {
            let name = try p.expectName()
            var value: Expr? = nil
            if p.current == .op("=") { p.advance(); value = try p.parseExpression() }
            params.append((name, value))
            if p.current == .op(",") { p.advance() } else { break }
        }
        try p.expect(")")
        return params
    }
}
