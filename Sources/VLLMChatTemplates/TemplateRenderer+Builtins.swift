import OrderedCollections

extension TemplateRenderer {
    func installGlobals() {
        let globals = scopes[0]
        globals.values["range"] = .function(TemplateFunction { args, _ in
            let ints = args.compactMap { v -> Int? in if case let .int(i) = v { return i }; return nil }
            var start = 0, stop = 0, step = 1
            switch ints.count {
            case 1: stop = ints[0]
            case 2: start = ints[0]; stop = ints[1]
            case 3: start = ints[0]; stop = ints[1]; step = ints[2]
            default: throw TemplateError("range expects 1 to 3 integers")
            }
            guard step != 0 else { throw TemplateError("range() arg 3 must not be zero") }
            return .array(stride(from: start, to: stop, by: step).map { .int($0) })
        })
        globals.values["namespace"] = .function(TemplateFunction { args, kwargs in
            var values: OrderedDictionary<String, TemplateValue> = [:]
            if case let .object(o)? = args.first { values = o }
            for (k, v) in kwargs { values[k] = v }
            return .namespace(TemplateNamespace(values))
        })
        globals.values["dict"] = .function(TemplateFunction { _, kwargs in
            .object(OrderedDictionary(kwargs, uniquingKeysWith: { $1 }))
        })
        globals.values["raise_exception"] = .function(TemplateFunction { args, _ in
            throw TemplateError(args.first?.text ?? "raise_exception called")
        })
        globals.values["strftime_now"] = .function(TemplateFunction { [unowned self] args, _ in
            .string(Self.strftime(args.first?.text ?? "", self.now()))
        })
    }

    static func strftime(_ format: String, _ t: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int)) -> String {
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        // Day of week by Zeller-style computation (0 = Monday).
        var y = t.year, m = t.month
        if m < 3 { m += 12; y -= 1 }
        let h = (t.day + 13 * (m + 1) / 5 + y + y / 4 - y / 100 + y / 400) % 7  // 0 = Saturday
        let weekday = (h + 5) % 7
        let days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
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
            case "B": out += months[t.month - 1]
            case "b": out += String(months[t.month - 1].prefix(3))
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
            return i % d == 0
        case "eq", "equalto", "==": return equal(v, args.first ?? .none)
        case "ne", "!=": return !equal(v, args.first ?? .none)
        case "lt", "lessthan", "<": return try compare(v, args.first ?? .none) < 0
        case "le", "<=": return try compare(v, args.first ?? .none) <= 0
        case "gt", "greaterthan", ">": return try compare(v, args.first ?? .none) > 0
        case "ge", ">=": return try compare(v, args.first ?? .none) >= 0
        case "in": return try contains(args.first ?? .none, v)
        case "lower": return v.text == v.text.lowercased()
        case "upper": return v.text == v.text.uppercased()
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

    /// Python methods templates call on strings, dicts and lists.
    func method(_ base: TemplateValue, _ name: String) -> TemplateValue? {
        func fn(_ body: @escaping ([TemplateValue], [(String, TemplateValue)]) throws -> TemplateValue) -> TemplateValue {
            .function(TemplateFunction(body))
        }
        switch base {
        case let .string(s):
            switch name {
            case "strip", "lstrip", "rstrip":
                return fn { [unowned self] args, _ in
                    let chars: String? = { if case let .string(c)? = args.first { return c }; return nil }()
                    return .string(self.strip(s, chars, left: name != "rstrip", right: name != "lstrip"))
                }
            case "upper": return fn { _, _ in .string(s.uppercased()) }
            case "lower": return fn { _, _ in .string(s.lowercased()) }
            case "title": return fn { [unowned self] _, _ in .string(self.titleCase(s)) }
            case "capitalize": return fn { [unowned self] _, _ in .string(self.capitalize(s)) }
            case "startswith", "endswith":
                return fn { args, _ in
                    let candidates: [String]
                    if case let .array(a)? = args.first { candidates = a.map(\.text) } else { candidates = [args.first?.text ?? ""] }
                    return .bool(candidates.contains { name == "startswith" ? s.hasPrefix($0) : s.hasSuffix($0) })
                }
            case "split", "rsplit":
                return fn { args, kwargs in
                    let sep = self.kwarg(kwargs, "sep", args, 0)
                    var maxsplit = -1
                    if case let .int(m)? = self.kwarg(kwargs, "maxsplit", args, 1) { maxsplit = m }
                    if let sep, case let .string(separator) = sep {
                        var parts: [String] = []
                        var rest = Substring(s)
                        while maxsplit < 0 || parts.count < maxsplit, let r = rest.range(of: separator) {
                            parts.append(String(rest[..<r.lowerBound]))
                            rest = rest[r.upperBound...]
                        }
                        parts.append(String(rest))
                        return .array(parts.map { .string($0) })
                    }
                    let parts = s.split(whereSeparator: \.isWhitespace).map { TemplateValue.string(String($0)) }
                    return .array(parts)
                }
            case "splitlines": return fn { _, _ in .array(s.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { .string(String($0)) }.dropLastIfEmpty()) }
            case "replace":
                return fn { [unowned self] args, _ in
                    var count = -1
                    if args.count > 2, case let .int(c) = args[2] { count = c }
                    return .string(self.replace(s, args.first?.text ?? "", args.count > 1 ? args[1].text : "", count: count))
                }
            case "find": return fn { args, _ in
                guard let r = s.range(of: args.first?.text ?? "") else { return .int(-1) }
                return .int(s.distance(from: s.startIndex, to: r.lowerBound))
            }
            case "count": return fn { [unowned self] args, _ in
                let needle = args.first?.text ?? ""
                return .int(needle.isEmpty ? s.count + 1 : (self.replace(s, needle, needle + "\u{0}", count: -1).count - s.count))
            }
            case "join": return fn { [unowned self] args, _ in .string(try self.iterate(args.first ?? .array([])).map(\.text).joined(separator: s)) }
            case "isdigit": return fn { _, _ in .bool(!s.isEmpty && s.allSatisfy(\.isNumber)) }
            case "isalpha": return fn { _, _ in .bool(!s.isEmpty && s.allSatisfy(\.isLetter)) }
            case "isspace": return fn { _, _ in .bool(!s.isEmpty && s.allSatisfy(\.isWhitespace)) }
            case "format": return fn { args, kwargs in
                var out = "", i = 0
                var chars = Array(s)[...]
                while let c = chars.popFirst() {
                    if c == "{", chars.first == "{" { chars.removeFirst(); out += "{"; continue }
                    if c == "}", chars.first == "}" { chars.removeFirst(); out += "}"; continue }
                    guard c == "{" else { out.append(c); continue }
                    var key = ""
                    while let d = chars.popFirst(), d != "}" { key.append(d) }
                    if key.isEmpty { out += i < args.count ? args[i].text : ""; i += 1 }
                    else if let n = Int(key) { out += n < args.count ? args[n].text : "" }
                    else { out += kwargs.first { $0.0 == key }?.1.text ?? "" }
                }
                return .string(out)
            }
            default: return nil
            }
        case let .object(o):
            switch name {
            case "items": return fn { _, _ in .array(o.map { .array([TemplateValue.keyValue($0.key), $0.value]) }) }
            case "keys": return fn { _, _ in .array(o.keys.map(TemplateValue.keyValue)) }
            case "values": return fn { _, _ in .array(Array(o.values)) }
            case "get": return fn { args, _ in o[TemplateValue.key(args.first ?? .none)] ?? (args.count > 1 ? args[1] : .none) }
            default: return nil
            }
        default:
            return nil
        }
    }
}

extension Array where Element == TemplateValue {
    func dropLastIfEmpty() -> [TemplateValue] {
        if let last, case let .string(s) = last, s.isEmpty { return Array(dropLast()) }
        return self
    }
}
