import OrderedCollections

extension TemplateRenderer {
    func evaluate(_ expr: Expr) throws -> TemplateValue {
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
        case let .list(items): return .array(try items.map(evaluate))
        case let .dict(pairs):
            var o: OrderedDictionary<String, TemplateValue> = [:]
            for (k, v) in pairs { o[TemplateValue.key(try evaluate(k))] = try evaluate(v) }
            return .object(o)
        case let .attribute(base, name):
            return try attribute(try evaluate(base), name, baseExpr: base)
        case let .item(base, index):
            let b = try evaluate(base)
            let i = try evaluate(index)
            switch (b, i) {
            case (.object, _), (.namespace, _), (.undefined, _): return try itemValue(b, i, baseExpr: base)
            case let (_, .string(key)): return try attribute(b, key, baseExpr: base)
            default: return try itemValue(b, i, baseExpr: base)
            }
        case let .slice(base, start, stop, step):
            return try slice(try evaluate(base), start.map(evaluate), stop.map(evaluate), step.map(evaluate))
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
            case "-":
                if case let .int(i) = v { return .int(-i) }
                if let d = v.number { return .double(-d) }
                throw TemplateError("bad operand type for unary -: '\(typeName(v))'")
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

    func attribute(_ base: TemplateValue, _ name: String, baseExpr: Expr?) throws -> TemplateValue {
        if name.hasPrefix("_") { throw TemplateError("access to attribute '\(name)' is unsafe (sandboxed)") }
        switch base {
        case let .undefined(n): throw TemplateError("'\(n)' is undefined")
        case let .object(o):
            if let v = o[name] { return v }
            return method(base, name) ?? .undefined(name)
        case let .namespace(ns): return ns.values[name] ?? .undefined(name)
        default: return method(base, name) ?? .undefined(name)
        }
    }

    func itemValue(_ base: TemplateValue, _ index: TemplateValue, baseExpr: Expr?) throws -> TemplateValue {
        switch (base, index) {
        case let (.undefined(n), _): throw TemplateError("'\(n)' is undefined")
        case let (.array(a), .int(i)):
            let j = i < 0 ? a.count + i : i
            return a.indices.contains(j) ? a[j] : .undefined("[\(i)]")
        case let (.string(s), .int(i)):
            let chars = Array(s)
            let j = i < 0 ? chars.count + i : i
            return chars.indices.contains(j) ? .string(String(chars[j])) : .undefined("[\(i)]")
        case let (.object(o), key): return o[TemplateValue.key(key)] ?? .undefined(key.text)
        case let (.namespace(ns), key): return ns.values[key.text] ?? .undefined(key.text)
        default: return .undefined(index.text)
        }
    }

    func slice(_ base: TemplateValue, _ start: TemplateValue?, _ stop: TemplateValue?, _ step: TemplateValue?) throws -> TemplateValue {
        func int(_ v: TemplateValue?) -> Int? { if case let .int(i)? = v { return i }; return nil }
        let items: [TemplateValue]
        var isString = false
        switch base {
        case let .array(a): items = a
        case let .string(s): items = s.map { .string(String($0)) }; isString = true
        case .undefined(let n): throw TemplateError("'\(n)' is undefined")
        default: throw TemplateError("'\(typeName(base))' object is not subscriptable")
        }
        let n = items.count, stepValue = int(step) ?? 1
        guard stepValue != 0 else { throw TemplateError("slice step cannot be zero") }
        func clamp(_ v: Int?, _ defaultValue: Int) -> Int {
            guard var i = v else { return defaultValue }
            if i < 0 { i += n }
            return stepValue > 0 ? min(max(i, 0), n) : min(max(i, -1), n - 1)
        }
        var result: [TemplateValue] = []
        if stepValue > 0 {
            var i = clamp(int(start), 0)
            let end = clamp(int(stop), n)
            while i < end { result.append(items[i]); i += stepValue }
        } else {
            var i = clamp(int(start), n - 1)
            let end = clamp(int(stop), -1)
            while i > end { result.append(items[i]); i += stepValue }
        }
        return isString ? .string(result.map(\.text).joined()) : .array(result)
    }

    func binary(_ op: String, _ l: TemplateValue, _ r: TemplateValue) throws -> TemplateValue {
        switch op {
        case "==": return .bool(equal(l, r))
        case "!=": return .bool(!equal(l, r))
        case "<", "<=", ">", ">=":
            let c = try compare(l, r)
            switch op {
            case "<": return .bool(c < 0)
            case "<=": return .bool(c <= 0)
            case ">": return .bool(c > 0)
            default: return .bool(c >= 0)
            }
        case "in": return .bool(try contains(r, l))
        case "not in": return .bool(!(try contains(r, l)))
        case "~": return .string(l.text + r.text)
        default: break
        }
        switch (op, l, r) {
        case let ("+", .string(a), .string(b)): return .string(a + b)
        case let ("+", .array(a), .array(b)): return .array(a + b)
        case let ("*", .string(a), .int(b)): return .string(String(repeating: a, count: max(0, b)))
        case let ("*", .array(a), .int(b)): return .array(Array(repeating: a, count: max(0, b)).flatMap { $0 })
        case let ("%", .string(a), args): return .string(try percentFormat(a, args))
        default: break
        }
        if case let .int(a) = l, case let .int(b) = r {
            switch op {
            case "+": return .int(a + b)
            case "-": return .int(a - b)
            case "*": return .int(a * b)
            case "/":
                guard b != 0 else { throw TemplateError("division by zero") }
                return .double(Double(a) / Double(b))
            case "//":
                guard b != 0 else { throw TemplateError("integer division or modulo by zero") }
                return .int(Int((Double(a) / Double(b)).rounded(.down)))
            case "%":
                guard b != 0 else { throw TemplateError("integer division or modulo by zero") }
                let m = a % b
                return .int(m != 0 && (m < 0) != (b < 0) ? m + b : m)
            case "**": return b >= 0 ? .int(Int(pow(Double(a), Double(b)))) : .double(pow(Double(a), Double(b)))
            default: break
            }
        }
        if let a = l.number, let b = r.number {
            switch op {
            case "+": return .double(a + b)
            case "-": return .double(a - b)
            case "*": return .double(a * b)
            case "/": guard b != 0 else { throw TemplateError("division by zero") }; return .double(a / b)
            case "//": guard b != 0 else { throw TemplateError("division by zero") }; return .double((a / b).rounded(.down))
            case "%": guard b != 0 else { throw TemplateError("modulo by zero") }; let m = a.truncatingRemainder(dividingBy: b); return .double(m != 0 && (m < 0) != (b < 0) ? m + b : m)
            case "**": return .double(pow(a, b))
            default: break
            }
        }
        throw TemplateError("unsupported operand type(s) for \(op): '\(typeName(l))' and '\(typeName(r))'")
    }

    func equal(_ l: TemplateValue, _ r: TemplateValue) -> Bool {
        switch (l, r) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        case let (.object(a), .object(b)):
            return a.count == b.count && a.allSatisfy { kv in b[kv.key].map { equal(kv.value, $0) } ?? false }
        case let (.namespace(a), .namespace(b)): return a === b
        default:
            if let a = l.number, let b = r.number { return a == b }
            return false
        }
    }

    func compare(_ l: TemplateValue, _ r: TemplateValue) throws -> Int {
        if case let .string(a) = l, case let .string(b) = r { return a == b ? 0 : (Array(a.unicodeScalars.map(\.value)).lexicographicallyPrecedes(b.unicodeScalars.map(\.value)) ? -1 : 1) }
        if let a = l.number, let b = r.number { return a == b ? 0 : (a < b ? -1 : 1) }
        if case let .array(a) = l, case let .array(b) = r {
            for (x, y) in zip(a, b) { let c = try compare(x, y); if c != 0 { return c } }
            return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
        }
        throw TemplateError("'<' not supported between instances of '\(typeName(l))' and '\(typeName(r))'")
    }

    func contains(_ container: TemplateValue, _ item: TemplateValue) throws -> Bool {
        switch container {
        case let .string(s):
            guard case let .string(sub) = item else { throw TemplateError("'in <string>' requires string as left operand") }
            return sub.isEmpty || s.contains(sub)
        case let .array(a): return a.contains { equal($0, item) }
        case let .object(o): return o[TemplateValue.key(item)] != nil
        case let .namespace(n): return n.values[item.text] != nil
        case .undefined: return false
        default: throw TemplateError("argument of type '\(typeName(container))' is not iterable")
        }
    }

    /// Python's `str % args` for the common conversions (%s %d %i %f %r %%).
    func percentFormat(_ format: String, _ args: TemplateValue) throws -> String {
        var values: [TemplateValue]
        if case let .array(a) = args { values = a } else { values = [args] }
        var out = ""
        var chars = Array(format)[...]
        while let c = chars.popFirst() {
            guard c == "%" else { out.append(c); continue }
            var spec = ""
            while let d = chars.first, "0123456789.-+ ".contains(d) { spec.append(d); chars.removeFirst() }
            guard let conv = chars.popFirst() else { throw TemplateError("incomplete format") }
            if conv == "%" { out.append("%"); continue }
            guard !values.isEmpty else { throw TemplateError("not enough arguments for format string") }
            let v = values.removeFirst()
            var piece: String
            let parts = spec.split(separator: ".", omittingEmptySubsequences: false)
            switch conv {
            case "s": piece = v.text
            case "r": piece = v.repr
            case "d", "i": piece = String(Int(v.number ?? 0))
            case "f": piece = formatFixed(v.number ?? 0, parts.count > 1 ? Int(parts[1]) ?? 6 : 6)
            default: piece = v.text
            }
            let flags = String(parts[0].prefix { "-0+ ".contains($0) })
            let width = Int(parts[0].dropFirst(flags.count)) ?? 0
            if piece.count < width {
                let pad = width - piece.count
                if flags.contains("-") { piece += String(repeating: " ", count: pad) }
                else if flags.contains("0"), conv != "s" {
                    let negative = piece.hasPrefix("-")
                    piece = (negative ? "-" : "") + String(repeating: "0", count: pad) + piece.dropFirst(negative ? 1 : 0)
                } else { piece = String(repeating: " ", count: pad) + piece }
            }
            out += piece
        }
        return out
    }

    func formatFixed(_ x: Double, _ precision: Int) -> String {
        let scale = pow(10.0, Double(precision))
        let rounded = (x * scale).rounded() / scale
        var s = TemplateValue.pythonFloat(rounded)
        if precision == 0 { return String(Int(rounded)) }
        let parts = s.split(separator: ".")
        if parts.count == 2 {
            var frac = String(parts[1])
            while frac.count < precision { frac += "0" }
            s = parts[0] + "." + frac.prefix(precision)
        }
        return s
    }
}

extension TemplateValue {
    var isBoolLike: Bool { if case .bool = self { true } else { false } }
    var isStringLike: Bool { if case .string = self { true } else { false } }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
