/// jinja2's filters on lists, dicts and strings as sequences; nil for other names.
extension TemplateRenderer {
    func applySequenceFilter(_ name: String, _ value: TemplateValue, _ args: [TemplateValue],
                             _ kwargs: [(String, TemplateValue)]) throws -> TemplateValue? {
        func arg(_ n: String, _ i: Int) -> TemplateValue? { kwarg(kwargs, n, args, i) }
        switch name {
        case "length", "count":
            switch value {
            case let .string(s): return .int(s.count)
            case let .array(a): return .int(a.count)
            case let .object(o): return .int(o.count)
            case .undefined: return .int(0)
            default: throw TemplateError("object of type '\(typeName(value))' has no len()")
            }
        case "first": return try iterate(value).first ?? .undefined("first")
        case "last": return try iterate(value).last ?? .undefined("last")
        case "list": return .array(try iterate(value))
        case "reverse":
            if case let .string(s) = value { return .string(String(s.reversed())) }
            return .array(try iterate(value).reversed())
        case "join":
            var items = try iterate(value)
            if let attr = arg("attribute", 1) {
                let key = try str(attr)
                items = try items.map { try attribute($0, key) }
            }
            return .string(try join(items, separator: try str(arg("d", 0) ?? .string(""))))
        case "items":
            guard case let .object(o) = value else { if value.isUndefined { return .array([]) }; throw TemplateError("items needs a mapping") }
            return .array(o.map { .array([TemplateValue.keyValue($0.key), $0.value]) })
        case "dictsort":
            guard case let .object(o) = value else { throw TemplateError("dictsort needs a mapping") }
            let byValue = try arg("by", 1).map(str) == "value"
            let caseSensitive = arg("case_sensitive", 0)?.isTruthy ?? false
            var pairs = o.map { ($0.key, $0.value) }
            try pairs.sort { a, b in
                let x = byValue ? a.1 : TemplateValue.keyValue(a.0), y = byValue ? b.1 : TemplateValue.keyValue(b.0)
                return try compare(foldCase(x, caseSensitive), foldCase(y, caseSensitive)) < 0
            }
            if arg("reverse", 2)?.isTruthy ?? false { pairs.reverse() }
            return .array(pairs.map { .array([TemplateValue.keyValue($0.0), $0.1]) })
        case "selectattr", "rejectattr", "select", "reject":
            let byAttribute = name.hasSuffix("attr")
            let items = value.isTruthy ? try iterate(value) : []
            let rest = byAttribute ? Array(args.dropFirst()) : args
            let keep = name.hasPrefix("select")
            let path = try str(args.first ?? .string(""))
            let testName = try rest.first.map(str)
            return .array(try items.filter { item in
                let subject = byAttribute ? try attributePath(item, path) : item
                let passed: Bool
                if let testName { passed = try applyTest(testName, subject, Array(rest.dropFirst())) }
                else { passed = subject.isTruthy }
                return passed == keep
            })
        case "map":
            let items = value.isTruthy ? try iterate(value) : []
            if let attr = kwargs.first(where: { $0.0 == "attribute" })?.1 {
                let path = try str(attr)
                let fallback = kwargs.first(where: { $0.0 == "default" })?.1
                return .array(try items.map { item in
                    let v = try attributePath(item, path)
                    if v.isUndefined, let fallback { return fallback }
                    return v
                })
            }
            guard let filterName = try args.first.map(str) else { return .array(items) }
            return .array(try items.map { try applyFilter(filterName, $0, Array(args.dropFirst()), []) })
        case "unique":
            var seen: [TemplateValue] = []
            let caseSensitive = arg("case_sensitive", 0)?.isTruthy ?? false
            let attr = try arg("attribute", 1).map(str)
            var out: [TemplateValue] = []
            for item in try iterate(value) {
                let key = foldCase(try attr.map { try attributePath(item, $0) } ?? item, caseSensitive)
                if !(try seen.contains { try equal($0, key) }) { seen.append(key); out.append(item) }
            }
            return .array(out)
        case "sort":
            let reverse = arg("reverse", 0)?.isTruthy ?? false
            let caseSensitive = arg("case_sensitive", 1)?.isTruthy ?? false
            let attr = try arg("attribute", 2).map(str)
            var items = try iterate(value)
            try items.sort { a, b in
                let x = foldCase(try attr.map { try attributePath(a, $0) } ?? a, caseSensitive)
                let y = foldCase(try attr.map { try attributePath(b, $0) } ?? b, caseSensitive)
                return try compare(x, y) < 0
            }
            return .array(reverse ? items.reversed() : items)
        case "min", "max":
            let items = try iterate(value)
            guard var best = items.first else { return .undefined(name) }
            for item in items.dropFirst() where try compare(item, best) * (name == "min" ? -1 : 1) > 0 { best = item }
            return best
        case "sum":
            var total = arg("start", 1) ?? .int(0)
            let attr = try arg("attribute", 0).map(str)
            for item in try iterate(value) {
                total = try binary("+", total, try attr.map { try attributePath(item, $0) } ?? item)
            }
            return total
        case "batch":
            guard case let .int(size)? = arg("linecount", 0), size > 0 else { throw TemplateError("batch needs a size") }
            let items = try iterate(value)
            var batches: [TemplateValue] = []
            var start = 0
            while start < items.count {
                let end = items.count - start > size ? start + size : items.count
                batches.append(.array(Array(items[start..<end])))
                start = end
            }
            return .array(batches)
        default:
            return nil
        }
    }

    /// `a.b.c` attribute paths as selectattr / map / sort use them (integer parts index lists).
    func attributePath(_ value: TemplateValue, _ path: String) throws -> TemplateValue {
        var v = value
        for part in path.split(separator: ".") {
            if case .undefined = v { return v }
            if let i = Int(part) { v = try itemValue(v, .int(i)) } else {
                if case .object(let o) = v { v = o[String(part)] ?? .undefined(String(part)) }
                else { v = try attribute(v, String(part)) }
            }
        }
        return v
    }

    func foldCase(_ v: TemplateValue, _ caseSensitive: Bool) -> TemplateValue {
        if !caseSensitive, case let .string(s) = v { return .string(s.lowercased()) }
        return v
    }
}
