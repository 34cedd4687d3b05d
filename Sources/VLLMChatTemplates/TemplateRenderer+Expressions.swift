import OrderedCollections

extension TemplateRenderer {
    /// Evaluates `expr`, one level deeper in the budget's nesting count.
    func evaluate(_ expr: Expr) throws -> TemplateValue {
        try budget.enter()
        defer { budget.leave() }
        return try evaluateHere(expr)
    }

    private func evaluateHere(_ expr: Expr) throws -> TemplateValue {
        switch expr {
        case let .literal(l):
            switch l {
            case .none: return .none
            case let .bool(b): return .bool(b)
            case let .int(i): return .int(i)
            case let .double(d): return .double(d)
            case let .string(s): return .string(s)
            }
        case let .name(n): return lookup(n)
        case let .list(items):
            try budget.allocateList(items.count)
            let values = try items.map(evaluate)
            for value in values { try checkNesting(value) }
            return .array(values)
        case let .dict(pairs):
            var o: OrderedDictionary<String, TemplateValue> = [:]
            for (k, v) in pairs {
                let key = try evaluate(k), value = try evaluate(v)
                try checkNesting(value)
                o[try dictKey(key)] = value
            }
            return .object(o)
        case let .attribute(base, name):
            return try attribute(try evaluate(base), name)
        case let .item(base, index):
            let b = try evaluate(base)
            let i = try evaluate(index)
            switch (b, i) {
            case (.object, _), (.namespace, _), (.undefined, _): return try itemValue(b, i)
            case let (_, .string(key)): return try attribute(b, key)
            default: return try itemValue(b, i)
            }
        case let .slice(base, start, stop, step):
            return try slice(try evaluate(base), try start.map(evaluate), try stop.map(evaluate), try step.map(evaluate))
        case let .call(function, args, kwargs):
            let f = try evaluate(function)
            guard case let .function(fn) = f else {
                if case let .undefined(name) = f { throw TemplateError("'\(name)' is undefined") }
                throw TemplateError("'\(typeName(f))' object is not callable")
            }
            return try fn.call(try args.map(evaluate), try kwargs.map { ($0.0, try evaluate($0.1)) })
        case let .filter(base, name, args, kwargs):
            return try applyFilter(name, try evaluate(base), try args.map(evaluate), try kwargs.map { ($0.0, try evaluate($0.1)) })
        case let .test(base, name, args, negated):
            return .bool(try applyTest(name, try evaluate(base), try args.map(evaluate)) != negated)
        case let .unary(op, operand):
            let v = try evaluate(operand)
            switch op {
            case "not": return .bool(!v.isTruthy)
            case "-": return try negate(v)
            default: return v
            }
        case let .binary(op, lhs, rhs):
            if op == "and" { let l = try evaluate(lhs); return l.isTruthy ? try evaluate(rhs) : l }
            if op == "or" { let l = try evaluate(lhs); return l.isTruthy ? l : try evaluate(rhs) }
            return try binary(op, try evaluate(lhs), try evaluate(rhs))
        case let .conditional(condition, then, otherwise):
            if try evaluate(condition).isTruthy { return try evaluate(then) }
            return try otherwise.map(evaluate) ?? .undefined("conditional")
        }
    }

    /// A dict literal's key: strings and numbers, as Python hashes them (lists and dicts are unhashable).
    func dictKey(_ key: TemplateValue) throws -> String {
        switch key {
        case .array, .object, .namespace, .function: throw TemplateError("unhashable type: '\(typeName(key))'")
        default: return TemplateValue.key(key)
        }
    }

    /// Python methods the immutable sandbox refuses (they would change a list or dict in place).
    static let mutatingMethods: Set<String> = ["append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
                                               "update", "setdefault", "popitem", "add", "discard"]

    func attribute(_ base: TemplateValue, _ name: String) throws -> TemplateValue {
        if name.hasPrefix("_") { throw TemplateError("access to attribute '\(name)' is unsafe (sandboxed)") }
        switch base {
        case let .undefined(n): throw TemplateError("'\(n)' is undefined")
        case let .object(o):
            if let v = o[name] { return v }
            if Self.mutatingMethods.contains(name) { throw TemplateError("access to attribute '\(name)' of 'dict' object is unsafe (sandboxed)") }
            return method(base, name) ?? .undefined(name)
        case let .namespace(ns): return ns.values[name] ?? .undefined(name)
        case .array:
            if Self.mutatingMethods.contains(name) { throw TemplateError("access to attribute '\(name)' of 'list' object is unsafe (sandboxed)") }
            return .undefined(name)
        default: return method(base, name) ?? .undefined(name)
        }
    }

    /// How an undefined item is named in messages.
    func undefinedName(_ key: TemplateValue) -> String {
        switch key {
        case let .string(s): s
        case .int, .double, .bool, .none: key.repr
        default: typeName(key)
        }
    }

    func itemValue(_ base: TemplateValue, _ index: TemplateValue) throws -> TemplateValue {
        switch (base, index) {
        case let (.undefined(n), _): throw TemplateError("'\(n)' is undefined")
        case let (.array(a), .int(i)):
            let j = i < 0 ? a.count + i : i
            return a.indices.contains(j) ? a[j] : .undefined("[\(i)]")
        case let (.string(s), .int(i)):
            try budget.spend(s.utf8.count)
            let n = s.count
            let j = i < 0 ? n + i : i
            guard j >= 0, j < n else { return .undefined("[\(i)]") }
            return .string(String(s[s.index(s.startIndex, offsetBy: j)]))
        case let (.object(o), key): return (try? dictKey(key)).flatMap { o[$0] } ?? .undefined(undefinedName(key))
        case let (.namespace(ns), .string(key)): return ns.values[key] ?? .undefined(key)
        default: return .undefined(undefinedName(index))
        }
    }

    /// Python slicing of lists and strings, `[start:stop:step]`; bounds are clamped as Python clamps them.
    func slice(_ base: TemplateValue, _ start: TemplateValue?, _ stop: TemplateValue?, _ step: TemplateValue?) throws -> TemplateValue {
        func int(_ v: TemplateValue?, _ what: String) throws -> Int? {
            switch v {
            case nil, .none?: return nil
            case let .int(i)?: return i
            case let .bool(b)?: return b ? 1 : 0
            case let v?: throw TemplateError("slice indices must be integers or None, not \(typeName(v)) (\(what))")
            }
        }
        let stepValue = try int(step, "step") ?? 1
        guard stepValue != 0 else { throw TemplateError("slice step cannot be zero") }
        switch base {
        case let .array(a):
            let (first, count) = Self.sliceRange(count: a.count, try int(start, "start"), try int(stop, "stop"), stepValue)
            return .array((0..<count).map { a[first + $0 * stepValue] })
        case let .string(s):
            try budget.spend(s.utf8.count)
            let n = s.count
            let (first, count) = Self.sliceRange(count: n, try int(start, "start"), try int(stop, "stop"), stepValue)
            guard count > 0 else { return .string("") }
            if stepValue == 1 {
                let lower = s.index(s.startIndex, offsetBy: first)
                return .string(String(s[lower..<s.index(lower, offsetBy: count)]))
            }
            try budget.allocateList(n)
            let chars = Array(s)
            return .string(String((0..<count).map { chars[first + $0 * stepValue] }))
        case .undefined(let n): throw TemplateError("'\(n)' is undefined")
        default: throw TemplateError("'\(typeName(base))' object is not subscriptable")
        }
    }

    /// The first position and the number of items `[start:stop:step]` selects among `count` (Python's
    /// `slice.indices`), with no arithmetic that can overflow whatever the bounds: every selected position
    /// `first + k * step` lies in `0..<count`.
    static func sliceRange(count n: Int, _ start: Int?, _ stop: Int?, _ step: Int) -> (first: Int, count: Int) {
        func clamp(_ v: Int?, _ defaultValue: Int) -> Int {
            guard var i = v else { return defaultValue }
            if i < 0 { i += n }  // cannot overflow: i < 0 <= n
            return step > 0 ? min(max(i, 0), n) : min(max(i, -1), n - 1)
        }
        if step > 0 {
            let first = clamp(start, 0), end = clamp(stop, n)
            guard first < end else { return (first, 0) }
            return (first, Int(UInt(end - first - 1) / step.magnitude) + 1)
        }
        let first = clamp(start, n - 1), end = clamp(stop, -1)
        guard first > end else { return (first, 0) }
        return (first, Int(UInt(first - end - 1) / step.magnitude) + 1)
    }
}
