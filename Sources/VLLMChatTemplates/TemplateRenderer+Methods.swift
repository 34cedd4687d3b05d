/// Python methods templates call on strings and dicts (`s.strip()`, `d.items()`, ...). Methods that change a list or
/// dict in place are refused by `attribute`, as jinja2's immutable sandbox refuses them.
extension TemplateRenderer {
    func method(_ base: TemplateValue, _ name: String) -> TemplateValue? {
        switch base {
        case let .string(s): return stringMethod(s, name)
        case let .object(o):
            switch name {
            case "items": return function { _, _ in .array(o.map { .array([TemplateValue.keyValue($0.key), $0.value]) }) }
            case "keys": return function { _, _ in .array(o.keys.map(TemplateValue.keyValue)) }
            case "values": return function { _, _ in .array(Array(o.values)) }
            case "get": return function { [unowned self] args, _ in
                (try? self.dictKey(args.first ?? .none)).flatMap { o[$0] } ?? (args.count > 1 ? args[1] : .none)
            }
            default: return nil
            }
        default:
            return nil
        }
    }

    private func function(_ body: @escaping ([TemplateValue], [(String, TemplateValue)]) throws -> TemplateValue) -> TemplateValue {
        .function(TemplateFunction(body))
    }

    private func stringMethod(_ s: String, _ name: String) -> TemplateValue? {
        switch name {
        case "strip", "lstrip", "rstrip":
            return function { [unowned self] args, _ in
                let chars: String? = { if case let .string(c)? = args.first { return c }; return nil }()
                return .string(self.strip(s, chars, left: name != "rstrip", right: name != "lstrip"))
            }
        case "upper": return function { _, _ in .string(s.uppercased()) }
        case "lower": return function { _, _ in .string(s.lowercased()) }
        case "title": return function { [unowned self] _, _ in .string(self.titleCase(s)) }
        case "capitalize": return function { [unowned self] _, _ in .string(self.capitalize(s)) }
        case "startswith", "endswith":
            return function { [unowned self] args, _ in
                let candidates: [String]
                if case let .array(a)? = args.first { candidates = try a.map(self.str) } else { candidates = [try self.str(args.first ?? .string(""))] }
                return .bool(candidates.contains { name == "startswith" ? s.hasPrefix($0) : s.hasSuffix($0) })
            }
        case "split", "rsplit":
            return function { [unowned self] args, kwargs in
                var maxsplit = -1
                if case let .int(m)? = self.kwarg(kwargs, "maxsplit", args, 1) { maxsplit = m }
                if case let .string(separator)? = self.kwarg(kwargs, "sep", args, 0) {
                    guard !separator.isEmpty else { throw TemplateError("empty separator") }
                    return .array(try self.split(s, by: separator, maxSplit: maxsplit))
                }
                let parts = s.split(whereSeparator: \.isWhitespace).map { TemplateValue.string(String($0)) }
                try self.budget.allocateList(parts.count)
                return .array(parts)
            }
        case "splitlines":
            return function { [unowned self] _, _ in
                let lines = s.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                try self.budget.allocateList(lines.count)
                return .array(lines.map { .string(String($0)) }.dropLastIfEmpty())
            }
        case "replace":
            return function { [unowned self] args, _ in
                var count = -1
                if args.count > 2, case let .int(c) = args[2] { count = c }
                return .string(try self.replace(s, try self.str(args.first ?? .string("")), try self.str(args.count > 1 ? args[1] : .string("")), count: count))
            }
        case "find":
            return function { [unowned self] args, _ in
                let needle = try self.str(args.first ?? .string(""))
                if needle.isEmpty { return .int(0) }
                guard let r = try self.find(needle, in: Substring(s)) else { return .int(-1) }
                return .int(s.distance(from: s.startIndex, to: r.lowerBound))
            }
        case "count":
            return function { [unowned self] args, _ in
                let needle = try self.str(args.first ?? .string(""))
                if needle.isEmpty { return .int(s.count + 1) }
                var found = 0, rest = Substring(s)
                while let r = try self.find(needle, in: rest) { found += 1; rest = rest[r.upperBound...] }
                return .int(found)
            }
        case "join":
            return function { [unowned self] args, _ in .string(try self.join(try self.iterate(args.first ?? .array([])), separator: s)) }
        case "isdigit": return function { _, _ in .bool(!s.isEmpty && s.allSatisfy(\.isNumber)) }
        case "isalpha": return function { _, _ in .bool(!s.isEmpty && s.allSatisfy(\.isLetter)) }
        case "isspace": return function { _, _ in .bool(!s.isEmpty && s.allSatisfy(\.isWhitespace)) }
        case "format": return function { [unowned self] args, kwargs in .string(try self.format(s, args, kwargs)) }
        default: return nil
        }
    }

    /// Python's `str.format` for `{}`, `{0}` and `{name}` fields (a missing one is an error, as in Python).
    private func format(_ s: String, _ args: [TemplateValue], _ kwargs: [(String, TemplateValue)]) throws -> String {
        var out = "", i = 0
        var chars = Array(s)[...]
        while let c = chars.popFirst() {
            if c == "{", chars.first == "{" { chars.removeFirst(); out += "{"; continue }
            if c == "}", chars.first == "}" { chars.removeFirst(); out += "}"; continue }
            guard c == "{" else { out.append(c); continue }
            var key = ""
            while let d = chars.popFirst(), d != "}" { key.append(d) }
            if key.isEmpty || key.allSatisfy(\.isASCIIDigit) {
                let n = key.isEmpty ? i : Int(key) ?? Int.max
                guard n < args.count else { throw TemplateError("Replacement index \(key.isEmpty ? String(i) : key) out of range for positional args tuple") }
                out += try str(args[n])
                if key.isEmpty { i += 1 }
            } else {
                guard let value = kwargs.first(where: { $0.0 == key })?.1 else { throw TemplateError("KeyError: '\(key)'") }
                out += try str(value)
            }
            try budget.checkLength(out)
        }
        return out
    }
}

extension Array where Element == TemplateValue {
    func dropLastIfEmpty() -> [TemplateValue] {
        if let last, case let .string(s) = last, s.isEmpty { return Array(dropLast()) }
        return self
    }
}
