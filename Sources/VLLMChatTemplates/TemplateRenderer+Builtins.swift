import OrderedCollections

extension TemplateRenderer {
    func installGlobals() {
        let globals = scopes[0]
        globals.values["range"] = .function(TemplateFunction { [unowned self] args, _ in .array(try self.range(args)) })
        globals.values["namespace"] = .function(TemplateFunction { [unowned self] args, kwargs in
            var values: OrderedDictionary<String, TemplateValue> = [:]
            if case let .object(o)? = args.first { values = o }
            for (k, v) in kwargs { values[k] = v }
            for v in values.values { try self.checkNesting(v) }
            return .namespace(TemplateNamespace(values))
        })
        globals.values["dict"] = .function(TemplateFunction { [unowned self] _, kwargs in
            for (_, v) in kwargs { try self.checkNesting(v) }
            return .object(OrderedDictionary(kwargs, uniquingKeysWith: { $1 }))
        })
        globals.values["raise_exception"] = .function(TemplateFunction { [unowned self] args, _ in
            throw TemplateError(try args.first.map(self.str) ?? "raise_exception called", kind: .raised)
        })
        globals.values["strftime_now"] = .function(TemplateFunction { [unowned self] args, _ in
            .string(Self.strftime(args.first?.text ?? "", self.now()))
        })
    }

    /// Python's `range(stop)`, `range(start, stop[, step])`, refused beyond jinja2's sandbox `MAX_RANGE` items.
    func range(_ args: [TemplateValue]) throws -> [TemplateValue] {
        let ints = try args.map { v -> Int in
            switch v {
            case let .int(i): return i
            case let .bool(b): return b ? 1 : 0
            default: throw TemplateError("'\(typeName(v))' object cannot be interpreted as an integer")
            }
        }
        var start = 0, stop = 0, step = 1
        switch ints.count {
        case 1: stop = ints[0]
        case 2: start = ints[0]; stop = ints[1]
        case 3: start = ints[0]; stop = ints[1]; step = ints[2]
        default: throw TemplateError("range expected 1 to 3 arguments, got \(ints.count)")
        }
        guard step != 0 else { throw TemplateError("range() arg 3 must not be zero") }
        let (first, count) = Self.rangeLength(start, stop, step)
        if count > budget.limits.maxRangeLength {
            throw TemplateError.limit("Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(budget.limits.maxRangeLength)).")
        }
        try budget.allocateList(count)
        return (0..<count).map { .int(first &+ $0 &* step) }
    }

    /// The number of items of `range(start, stop, step)` (saturated at Int.max), computed without overflow.
    static func rangeLength(_ start: Int, _ stop: Int, _ step: Int) -> (first: Int, count: Int) {
        guard step > 0 ? start < stop : start > stop else { return (start, 0) }
        // The distance is below 2^64, so it fits in UInt; the count is at most the distance.
        let distance = step > 0 ? UInt(bitPattern: stop &- start) : UInt(bitPattern: start &- stop)
        let count = (distance - 1) / step.magnitude + 1
        return (start, count > UInt(Int.max) ? Int.max : Int(count))
    }

    static func strftime(_ format: String, _ t: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int)) -> String {
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        // Day of week by Zeller-style computation (0 = Monday).
        var y = t.year, m = t.month
        if m < 3 { m += 12; y -= 1 }
        let h = (t.day + 13 * (m + 1) / 5 + y + y / 4 - y / 100 + y / 400) % 7  // 0 = Saturday
        let weekday = ((h + 5) % 7 + 7) % 7
        let days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let month = (1...12).contains(t.month) ? months[t.month - 1] : ""
        var out = ""
        var chars = Array(format)[...]
        while let c = chars.popFirst() {
            guard c == "%", let f = chars.popFirst() else { out.append(c); continue }
            switch f {
            case "d": out += two(t.day)
            case "-": if let g = chars.popFirst() { out += g == "d" ? "\(t.day)" : g == "m" ? "\(t.month)" : "" }
            case "m": out += two(t.month)
            case "Y": out += "\(t.year)"
            case "y": out += two(t.year % 100)
            case "B": out += month
            case "b": out += String(month.prefix(3))
            case "A": out += days[weekday]
            case "a": out += String(days[weekday].prefix(3))
            case "H": out += two(t.hour)
            case "M": out += two(t.minute)
            case "S": out += two(t.second)
            case "%": out += "%"
            default: out += "%" + String(f)
            }
        }
        return out
    }

    func applyTest(_ name: String, _ v: TemplateValue, _ args: [TemplateValue]) throws -> Bool {
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": return v.isNone
        case "boolean": return v.isBoolLike
        case "true": if case .bool(true) = v { return true }; return false
        case "false": if case .bool(false) = v { return true }; return false
        case "integer": if case .int = v { return true }; return false
        case "float": if case .double = v { return true }; return false
        case "number": switch v { case .int, .double, .bool: return true; default: return false }
        case "string": return v.isStringLike
        case "mapping": if case .object = v { return true }; return false
        case "iterable", "sequence":
            switch v { case .array, .object, .string: return true; default: return false }
        case "callable": if case .function = v { return true }; return false
        case "odd": if case let .int(i) = v { return i % 2 != 0 }; return false
        case "even": if case let .int(i) = v { return i % 2 == 0 }; return false
        case "divisibleby":
            guard case let .int(i) = v, case let .int(d)? = args.first, d != 0 else { return false }
            return d == -1 || i % d == 0  // Int.min % -1 traps
        case "eq", "equalto", "==": return try equal(v, args.first ?? .none)
        case "ne", "!=": return !(try equal(v, args.first ?? .none))
        case "lt", "lessthan", "<": return try compare(v, args.first ?? .none) < 0
        case "le", "<=": return try compare(v, args.first ?? .none) <= 0
        case "gt", "greaterthan", ">": return try compare(v, args.first ?? .none) > 0
        case "ge", ">=": return try compare(v, args.first ?? .none) >= 0
        case "in": return try contains(args.first ?? .none, v)
        case "lower": let t = try str(v); return t == t.lowercased()
        case "upper": let t = try str(v); return t == t.uppercased()
        case "sameas":
            let other = args.first ?? .none
            switch (v, other) {
            case (.none, .none): return true
            case let (.bool(a), .bool(b)): return a == b
            default: return false
            }
        case "escaped": return false
        default: throw TemplateError("no test named '\(name)'")
        }
    }
}
