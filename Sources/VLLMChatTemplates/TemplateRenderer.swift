import OrderedCollections

/// Executes a parsed template against a context (one renderer per render call), within `budget`.
final class TemplateRenderer {
    final class Scope {
        var values: [String: TemplateValue] = [:]
        init(_ values: [String: TemplateValue] = [:]) { self.values = values }
    }

    enum Signal { case normal, breakLoop, continueLoop }

    var scopes: [Scope]
    let budget: RenderBudget
    let now: () -> ChatTemplate.DateParts
    /// Scopes that macros captured. A macro stored in a scope it captured is a reference cycle; `releaseScopes`
    /// breaks them all when the render ends.
    private var capturedScopes: [ObjectIdentifier: Scope] = [:]

    init(context: [String: TemplateValue], budget: RenderBudget, now: @escaping () -> ChatTemplate.DateParts) {
        self.budget = budget
        self.now = now
        scopes = [Scope(), Scope(context)]
        installGlobals()
    }

    /// Empties every scope a macro may reference, so that nothing the render built outlives it.
    func releaseScopes() {
        for scope in capturedScopes.values { scope.values.removeAll() }
        for scope in scopes { scope.values.removeAll() }
        capturedScopes.removeAll()
    }

    func lookup(_ name: String) -> TemplateValue {
        for scope in scopes.reversed() { if let v = scope.values[name] { return v } }
        return .undefined(name)
    }

    func assign(_ name: String, _ value: TemplateValue) { scopes[scopes.count - 1].values[name] = value }

    func fail(_ message: String, _ loc: SourceLocation?) -> TemplateError {
        TemplateError(message, line: loc?.line ?? 0, column: loc?.column ?? 0)
    }

    /// Appends `text` to an output buffer within the string size bound.
    func emit(_ text: String, into out: inout String) throws {
        if out.utf8.count + text.utf8.count > budget.limits.maxStringBytes {
            throw TemplateError.limit("the output grew larger than the sandbox allows (\(budget.limits.maxStringBytes) bytes)")
        }
        out += text
    }

    // MARK: statements

    func execute(_ nodes: [Node], into out: inout String) throws -> Signal {
        for node in nodes {
            let signal = try execute(node, into: &out)
            if signal != .normal { return signal }
        }
        return .normal
    }

    private func execute(_ node: Node, into out: inout String) throws -> Signal {
        try budget.enter()
        defer { budget.leave() }
        switch node {
        case let .text(text): try emit(text, into: &out)
        case let .output(expr, loc): try emit(try located(loc) { try str(try evaluate(expr)) }, into: &out)
        case let .conditional(branches, otherwise, loc):
            for (condition, body) in branches where try located(loc, { try evaluate(condition).isTruthy }) {
                return try execute(body, into: &out)
            }
            return try execute(otherwise, into: &out)
        case let .loop(target, iterable, filter, body, otherwise, loc):
            return try runLoop(target, iterable, filter: filter, body: body, otherwise: otherwise, loc, into: &out)
        case let .assign(target, expr, loc):
            let value = try located(loc) { try evaluate(expr) }
            try bind(target, value, loc)
        case let .blockAssign(target, filters, body, loc):
            let value = try located(loc) { try filtered(body, filters) }
            try bind(target, value, loc)
        case let .macro(name, params, body):
            assign(name, makeMacro(params: params, body: body))
        case let .callBlock(callExpr, params, body, loc):
            let caller = makeMacro(params: params, body: body)
            guard case let .call(function, args, kwargs) = callExpr else { throw fail("call block needs a macro call", loc) }
            let text = try located(loc) {
                let f = try evaluate(function)
                guard case let .function(fn) = f else { throw TemplateError("'\(typeName(f))' object is not callable") }
                return try str(try fn.call(try args.map(evaluate), try kwargs.map { ($0.0, try evaluate($0.1)) } + [("caller", caller)]))
            }
            try emit(text, into: &out)
        case let .filterBlock(filters, body, loc):
            try emit(try located(loc) { try str(try filtered(body, filters)) }, into: &out)
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        case let .expression(expr, loc): _ = try located(loc) { try evaluate(expr) }
        }
        return .normal
    }

    /// The output of `body` passed through `filters` (`{% set x | f %}`, `{% filter f %}`).
    private func filtered(_ body: [Node], _ filters: [(String, [Expr], [(String, Expr)])]) throws -> TemplateValue {
        var captured = ""
        _ = try execute(body, into: &captured)
        var value = TemplateValue.string(captured)
        for (name, args, kwargs) in filters {
            value = try applyFilter(name, value, try args.map(evaluate), try kwargs.map { ($0.0, try evaluate($0.1)) })
        }
        return value
    }

    /// Runs `body`, attaching `loc` to errors that have no location yet.
    func located<T>(_ loc: SourceLocation, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as TemplateError where error.line == 0 {
            throw error.located(line: loc.line, column: loc.column)
        }
    }

    private func bind(_ target: Target, _ value: TemplateValue, _ loc: SourceLocation) throws {
        switch target {
        case let .name(n): assign(n, value)
        case let .names(names):
            let items = try iterate(value)
            guard items.count == names.count else { throw fail("cannot unpack \(items.count) values into \(names.count) names", loc) }
            for (n, v) in zip(names, items) { assign(n, v) }
        case let .attribute(base, key):
            guard case let .namespace(ns) = lookup(base) else { throw fail("cannot assign attribute on non-namespace '\(base)'", loc) }
            try located(loc) { try checkNesting(value, storedIn: ns) }
            ns.values[key] = value
        }
    }

    private func runLoop(_ target: Target, _ iterable: Expr, filter: Expr?, body: [Node], otherwise: [Node],
                         _ loc: SourceLocation, into out: inout String) throws -> Signal {
        var items = try located(loc) { try iterate(try evaluate(iterable)) }
        scopes.append(Scope())
        defer { scopes.removeLast() }
        if let filter {
            items = try items.filter { item in
                try budget.iterate()
                try bind(target, item, loc)
                return try located(loc) { try evaluate(filter).isTruthy }
            }
        }
        if items.isEmpty { return try execute(otherwise, into: &out) }
        let count = items.count
        for (i, item) in items.enumerated() {
            try located(loc) { try budget.iterate() }
            // Each iteration starts from a fresh scope, as jinja2 does: a `set` inside the body lasts one iteration.
            scopes[scopes.count - 1] = Scope()
            try bind(target, item, loc)
            var loop: OrderedDictionary<String, TemplateValue> = [
                "index": .int(i + 1), "index0": .int(i), "revindex": .int(count - i), "revindex0": .int(count - i - 1),
                "first": .bool(i == 0), "last": .bool(i == count - 1), "length": .int(count), "depth": .int(1), "depth0": .int(0),
            ]
            loop["previtem"] = i > 0 ? items[i - 1] : .undefined("previtem")
            loop["nextitem"] = i + 1 < count ? items[i + 1] : .undefined("nextitem")
            loop["cycle"] = .function(TemplateFunction { args, _ in args.isEmpty ? .none : args[i % args.count] })
            assign("loop", .object(loop))
            if try execute(body, into: &out) == .breakLoop { break }
        }
        return .normal
    }

    private func makeMacro(params: [(String, Expr?)], body: [Node]) -> TemplateValue {
        let captured = scopes
        for scope in captured { capturedScopes[ObjectIdentifier(scope)] = scope }
        return .function(TemplateFunction { [unowned self] args, kwargs in
            try self.budget.enterCall()
            defer { self.budget.leaveCall() }
            let saved = self.scopes
            self.scopes = captured + [Scope()]
            defer { self.scopes = saved }
            for (i, (name, defaultValue)) in params.enumerated() {
                if let kw = kwargs.first(where: { $0.0 == name }) { self.assign(name, kw.1) }
                else if i < args.count { self.assign(name, args[i]) }
                else if let d = defaultValue { self.assign(name, try self.evaluate(d)) }
                else { self.assign(name, .undefined(name)) }
            }
            if let caller = kwargs.first(where: { $0.0 == "caller" }) { self.assign("caller", caller.1) }
            self.assign("varargs", .array(args.count > params.count ? Array(args[params.count...]) : []))
            var out = ""
            _ = try self.execute(body, into: &out)
            return .string(out)
        })
    }
}
