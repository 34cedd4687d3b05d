#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Operators with Python's semantics. Python's integers have no size; ours are 64-bit, so every integer operation is
/// checked and a result that does not fit is a template error (kind `.limit`), never a trap.
extension TemplateRenderer {
    func binary(_ op: String, _ l: TemplateValue, _ r: TemplateValue) throws -> TemplateValue {
        switch op {
        case "==": return .bool(try equal(l, r))
        case "!=": return .bool(!(try equal(l, r)))
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
        case "~": return try concatenate(try str(l), try str(r))
        default: break
        }
        switch (op, l, r) {
        case let ("+", .string(a), .string(b)): return try concatenate(a, b)
        case let ("+", .array(a), .array(b)):
            try budget.allocateList(a.count + b.count)
            return .array(a + b)
        case let ("*", .string(a), .int(b)), let ("*", .int(b), .string(a)): return .string(try repeated(a, b))
        case let ("*", .array(a), .int(b)), let ("*", .int(b), .array(a)):
            guard b > 0, !a.isEmpty else { return .array([]) }
            let (count, overflow) = a.count.multipliedReportingOverflow(by: b)
            try budget.allocateList(overflow ? Int.max : count)
            return .array(Array(repeating: a, count: b).flatMap { $0 })
        case let ("%", .string(a), args): return .string(try percentFormat(a, args))
        default: break
        }
        if case let .int(a) = l, case let .int(b) = r { return try integer(op, a, b) }
        if let a = l.number, let b = r.number, let result = try float(op, a, b) { return .double(result) }
        throw TemplateError("unsupported operand type(s) for \(op): '\(typeName(l))' and '\(typeName(r))'")
    }

    private func concatenate(_ a: String, _ b: String) throws -> TemplateValue {
        try budget.allocateString(a.utf8.count + b.utf8.count)
        return .string(a + b)
    }

    /// Unary minus.
    func negate(_ v: TemplateValue) throws -> TemplateValue {
        if case let .int(i) = v { return .int(try Self.checked(0.subtractingReportingOverflow(i), "-\(i)")) }
        if case let .bool(b) = v { return .int(b ? -1 : 0) }
        if let d = v.number { return .double(-d) }
        throw TemplateError("bad operand type for unary -: '\(typeName(v))'")
    }

    static func checked(_ result: (partialValue: Int, overflow: Bool), _ what: @autoclosure () -> String) throws -> Int {
        if result.overflow { throw overflow(what()) }
        return result.partialValue
    }

    static func overflow(_ what: String) -> TemplateError {
        .limit("integer overflow: \(what) does not fit in 64 bits (the sandbox has no big integers)")
    }

    /// `a op b` on integers: Python's floor division and modulo, exact powers, checked throughout.
    private func integer(_ op: String, _ a: Int, _ b: Int) throws -> TemplateValue {
        switch op {
        case "+": return .int(try Self.checked(a.addingReportingOverflow(b), "\(a) + \(b)"))
        case "-": return .int(try Self.checked(a.subtractingReportingOverflow(b), "\(a) - \(b)"))
        case "*": return .int(try Self.checked(a.multipliedReportingOverflow(by: b), "\(a) * \(b)"))
        case "/":
            guard b != 0 else { throw TemplateError("division by zero") }
            return .double(Double(a) / Double(b))
        case "//":
            guard b != 0 else { throw TemplateError("integer division or modulo by zero") }
            let q = try Self.checked(a.dividedReportingOverflow(by: b), "\(a) // \(b)")
            return .int(a % b != 0 && (a < 0) != (b < 0) ? q - 1 : q)
        case "%":
            guard b != 0 else { throw TemplateError("integer division or modulo by zero") }
            if b == -1 { return .int(0) }  // Int.min % -1 traps in Swift; Python gives 0
            let m = a % b
            return .int(m != 0 && (m < 0) != (b < 0) ? m + b : m)
        case "**":
            if b < 0 {
                guard a != 0 else { throw TemplateError("0.0 cannot be raised to a negative power") }
                return .double(pow(Double(a), Double(b)))
            }
            return .int(try Self.power(a, b))
        default: throw TemplateError("unsupported operand type(s) for \(op): 'int' and 'int'")
        }
    }

    /// `base ** exponent` for a non-negative exponent, by squaring, checked.
    static func power(_ base: Int, _ exponent: Int) throws -> Int {
        var result = 1, factor = base, e = exponent
        while e > 0 {
            if e & 1 == 1 { result = try checked(result.multipliedReportingOverflow(by: factor), "\(base) ** \(exponent)") }
            e >>= 1
            if e > 0 { factor = try checked(factor.multipliedReportingOverflow(by: factor), "\(base) ** \(exponent)") }
        }
        return result
    }

    /// `a op b` on floats (and a float with an int); nil for operators floats do not have.
    private func float(_ op: String, _ a: Double, _ b: Double) throws -> Double? {
        switch op {
        case "+": return a + b
        case "-": return a - b
        case "*": return a * b
        case "/": guard b != 0 else { throw TemplateError("division by zero") }; return a / b
        case "//": guard b != 0 else { throw TemplateError("division by zero") }; return (a / b).rounded(.down)
        case "%":
            guard b != 0 else { throw TemplateError("modulo by zero") }
            let m = a.truncatingRemainder(dividingBy: b)
            return m != 0 && (m < 0) != (b < 0) ? m + b : m
        case "**":
            if a == 0 && b < 0 { throw TemplateError("0.0 cannot be raised to a negative power") }
            return pow(a, b)
        default: return nil
        }
    }

    func equal(_ l: TemplateValue, _ r: TemplateValue, level: Int = 0) throws -> Bool {
        try budget.spend()
        try checkTraversal(level)
        switch (l, r) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)):
            guard a.count == b.count else { return false }
            for (x, y) in zip(a, b) where !(try equal(x, y, level: level + 1)) { return false }
            return true
        case let (.object(a), .object(b)):
            guard a.count == b.count else { return false }
            for (key, x) in a {
                guard let y = b[key], try equal(x, y, level: level + 1) else { return false }
            }
            return true
        case let (.namespace(a), .namespace(b)): return a === b
        default:
            if let a = l.number, let b = r.number { return a == b }
            return false
        }
    }

    func compare(_ l: TemplateValue, _ r: TemplateValue, level: Int = 0) throws -> Int {
        try budget.spend()
        try checkTraversal(level)
        if case let .string(a) = l, case let .string(b) = r {
            try budget.spend(min(a.utf8.count, b.utf8.count))
            return a == b ? 0 : (a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) ? -1 : 1)
        }
        if case let .int(a) = l, case let .int(b) = r { return a == b ? 0 : (a < b ? -1 : 1) }
        if let a = l.number, let b = r.number { return a == b ? 0 : (a < b ? -1 : 1) }
        if case let .array(a) = l, case let .array(b) = r {
            for (x, y) in zip(a, b) { let c = try compare(x, y, level: level + 1); if c != 0 { return c } }
            return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
        }
        throw TemplateError("'<' not supported between instances of '\(typeName(l))' and '\(typeName(r))'")
    }

    func contains(_ container: TemplateValue, _ item: TemplateValue) throws -> Bool {
        switch container {
        case let .string(s):
            guard case let .string(sub) = item else { throw TemplateError("'in <string>' requires string as left operand") }
            return try sub.isEmpty || find(sub, in: Substring(s)) != nil
        case let .array(a):
            for element in a where try equal(element, item) { return true }
            return false
        case let .object(o): return o[try dictKey(item)] != nil
        case let .namespace(n): return item.stringValue.map { n.values[$0] != nil } ?? false
        case .undefined: return false
        default: throw TemplateError("argument of type '\(typeName(container))' is not iterable")
        }
    }
}
