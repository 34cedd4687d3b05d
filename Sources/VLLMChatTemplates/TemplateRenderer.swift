import OrderedCollections

/// Executes a parsed template against a context (one renderer per render call).
final class TemplateRenderer {
    final class Scope {
        var values: [String: TemplateValue] = [:]
        init(_ values: [String: TemplateValue] = [:]) { self.values = values }
    }

    enum Signal { case normal, breakLoop, continueLoop }

    var scopes: [Scope]
    let now: () -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int)

    init(context: [String: TemplateValue], now: @escaping () -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int)) {
        self.now = now
        scopes = [Scope(), Scope(context)]
        installGlobals()
    }

    func lookup(_ name: String) -> TemplateValue {
        for scope in scopes.reversed() { if let v = scope.values[name] { return v } }
        return .undefined(name)
    }

    func assign(_ name: String, _ value: TemplateValue) { scopes[scopes.count - 1].values[name] = value }

    func fail(_ message: String, _ loc: SourceLocation?) -> TemplateError {
        TemplateError(message, line: loc?.line ?? 0, column: loc?.column ?? 0)
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
        switch node {
        case let .text(text): out += text
        case let .output(expr, loc): out += try located(loc) { try evaluate(expr).text }
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
            var captured = ""
            _ = try execute(body, into: &captured)
            var value = TemplateValue.string(captured)
            for (name, args, kwargs) in filters {
                value = try located(loc) { try applyFilter(name, value, args.map(evaluate), kwargs.map { ($0.0, try evaluate($0.1)) }) }
            }
            try bind(target, value, loc)
        case let .macro(name, params, body):
            assign(name, makeMacro(params: params, body: body))
        case let .callBlock(callExpr, params, body, loc):
            let caller = makeMacro(params: params, body: body)
            guard case let .call(function, args, kwargs) = callExpr else { throw fail("call block needs a macro call", loc) }
            out += try located(loc) {
                let f = try evaluate(function)
                guard case let .function(fn) = f else { throw TemplateError("'\(f.repr)' is not callable") }
                return try fn.call(try args.map(evaluate), try kwargs.map { ($0.0, try evaluate($0.1)) } + [("caller", caller)]).text
            }
        case let .filterBlock(filters, body, loc):
            var captured = ""
            _ = try execute(body, into: &captured)
            var value = TemplateValue.string(captured)
            for (name, args, kwargs) in filters {
                value = try located(loc) { try applyFilter(name, value, args.map(evaluate), kwargs.map { ($0.0, try evaluate($0.1)) }) }
            }
            out += value.text
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        case let .expression(expr, loc): _ = try located(loc) { try evaluate(expr) }
        }
        return .normal
    }

    /// Runs `body`, attaching `loc` to errors that have no location yet.
    func located<T>(_ loc: SourceLocation, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as TemplateError where error.line == 0 {
            throw TemplateError(error.message, line: loc.line, column: loc.column)
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
                try bind(target, item, loc)
                return try located(loc) { try evaluate(filter).isTruthy }
            }
        }
        if items.isEmpty { return try execute(otherwise, into: &out) }
        let count = items.count
        for (i, item) in items.enumerated() {
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
        return .function(TemplateFunction { [unowned self] args, kwargs in
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

    /// Python iteration: lists, dict keys, string characters; undefined and none-like iterate as empty for undefined.
    func iterate(_ value: TemplateValue) throws -> [TemplateValue] {
        switch value {
        case let .array(a): return a
        case let .object(o): return o.keys.map(TemplateValue.keyValue)
        case let .string(s): return s.map { .string(String($0)) }
        case .undefined: return []
        case let .namespace(n): return n.values.keys.map { .string($0) }
        default: throw TemplateError("'\(typeName(value))' object is not iterable")
        }
    }

    func typeName(_ v: TemplateValue) -> String {
        switch v {
        case .undefined: "Undefined"
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .double: "float"
        case .string: "str"
        case .array: "list"
        case .object: "dict"
        case .function: "function"
        case .namespace: "Namespace"
        }
    }
}
