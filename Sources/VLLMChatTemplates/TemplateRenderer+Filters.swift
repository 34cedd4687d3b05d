import OrderedCollections

extension TemplateRenderer {
    func kwarg(_ kwargs: [(String, TemplateValue)], _ name: String, _ args: [TemplateValue], _ position: Int) -> TemplateValue? {
        if let kw = kwargs.first(where: { $0.0 == name }) { return kw.1 }
        return position < args.count ? args[position] : nil
    }

    func applyFilter(_ name: String, _ value: TemplateValue, _ args: [TemplateValue], _ kwargs: [(String, TemplateValue)]) throws -> TemplateValue {
        func arg(_ n: String, _ i: Int) -> TemplateValue? { kwarg(kwargs, n, args, i) }
        switch name {
        case "safe", "escape", "e", "forceescape":
            if name == "safe" { return value }
            var s = ""
            for c in value.text {
                switch c {
                case "&": s += "&amp;"
                case "<": s += "&lt;"
                case ">": s += "&gt;"
                case "\"": s += "&#34;"
                case "'": s += "&#39;"
                default: s.append(c)
                }
            }
            return .string(s)
        case "string": return .string(value.text)
        case "trim":
            if let chars = arg("chars", 0), case let .string(set) = chars { return .string(strip(value.text, set, left: true, right: true)) }
            return .string(value.text.trimmingPythonWhitespace())
        case "upper": return .string(value.text.uppercased())
        case "lower": return .string(value.text.lowercased())
        case "capitalize": return .string(capitalize(value.text))
        case "title": return .string(titleCase(value.text))
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
            if let attr = arg("attribute", 1) { items = try items.map { try attribute($0, attr.text, baseExpr: nil) } }
            return .string(items.map(\.text).joined(separator: arg("d", 0)?.text ?? ""))
        case "default", "d":
            let fallback = arg("default_value", 0) ?? .string("")
            let boolean = arg("boolean", 1)?.isTruthy ?? false
            if value.isUndefined || (boolean && !value.isTruthy) { return fallback }
            return value
        case "replace":
            guard let old = arg("old", 0)?.text, let new = arg("new", 1)?.text else { throw TemplateError("replace needs two arguments") }
            var count = -1
            if case let .int(c)? = arg("count", 2) { count = c }
            return .string(replace(value.text, old, new, count: count))
        case "items":
            guard case let .object(o) = value else { if value.isUndefined { return .array([]) }; throw TemplateError("items needs a mapping") }
            return .array(o.map { .array([TemplateValue.keyValue($0.key), $0.value]) })
        case "dictsort":
            guard case let .object(o) = value else { throw TemplateError("dictsort needs a mapping") }
            let byValue = arg("by", 1)?.text == "value"
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
            return .array(try items.filter { item in
                let subject = byAttribute ? try attributePath(item, args.first?.text ?? "") : item
                let passed: Bool
                if let testName = rest.first?.text { passed = try applyTest(testName, subject, Array(rest.dropFirst())) }
                else { passed = subject.isTruthy }
                return passed == keep
            })
        case "map":
            let items = value.isTruthy ? try iterate(value) : []
            if let attr = kwargs.first(where: { $0.0 == "attribute" })?.1.text {
                let fallback = kwargs.first(where: { $0.0 == "default" })?.1
                return .array(try items.map { item in
                    let v = try attributePath(item, attr)
                    if v.isUndefined, let fallback { return fallback }
                    return v
                })
            }
            guard let filterName = args.first?.text else { return .array(items) }
            return .array(try items.map { try applyFilter(filterName, $0, Array(args.dropFirst()), []) })
        case "unique":
            var seen: [TemplateValue] = []
            let caseSensitive = arg("case_sensitive", 0)?.isTruthy ?? false
            let attr = arg("attribute", 1)?.text
            var out: [TemplateValue] = []
            for item in try iterate(value) {
                let key = foldCase(try attr.map { try attributePath(item, $0) } ?? item, caseSensitive)
                if !seen.contains(where: { equal($0, key) }) { seen.append(key); out.append(item) }
            }
            return .array(out)
        case "sort":
            let reverse = arg("reverse", 0)?.isTruthy ?? false
            let caseSensitive = arg("case_sensitive", 1)?.isTruthy ?? false
            let attr = arg("attribute", 2)?.text
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
            for item in try iterate(value) {
                total = try binary("+", total, try arg("attribute", 0).map { try attributePath(item, $0.text) } ?? item)
            }
            return total
        case "abs":
            if case let .int(i) = value { return .int(abs(i)) }
            return .double(abs(value.number ?? 0))
        case "int":
            let fallback = arg("default", 0) ?? .int(0)
            switch value {
            case let .int(i): return .int(i)
            case let .double(d): return .int(Int(d))
            case let .bool(b): return .int(b ? 1 : 0)
            case let .string(s):
                let t = s.trimmingPythonWhitespace()
                if let i = Int(t) { return .int(i) }
                if let d = Double(t) { return .int(Int(d)) }
                return fallback
            default: return fallback
            }
        case "float":
            switch value {
            case let .string(s): return Double(s.trimmingPythonWhitespace()).map { .double($0) } ?? (arg("default", 0) ?? .double(0))
            default: return value.number.map { .double($0) } ?? (arg("default", 0) ?? .double(0))
            }
        case "round":
            let precision: Int
            if case let .int(p)? = arg("precision", 0) { precision = p } else { precision = 0 }
            let method = arg("method", 1)?.text ?? "common"
            if method == "common", case .int = value { return value }
            let scale = pow(10.0, Double(precision))
            let x = (value.number ?? 0) * scale
            // Python's round() for "common": ties to even.
            let r = method == "ceil" ? x.rounded(.up) : method == "floor" ? x.rounded(.down) : x.rounded(.toNearestOrEven)
            return .double(r / scale)
        case "indent":
            var width = "    "
            if let w = arg("width", 0) { if case let .int(n) = w { width = String(repeating: " ", count: n) } else { width = w.text } }
            let first = arg("first", 1)?.isTruthy ?? false
            let blank = arg("blank", 2)?.isTruthy ?? false
            var text = value.text
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for i in lines.indices where (i > 0 || first) && (blank || !lines[i].trimmingPythonWhitespace().isEmpty) {
                if i == 0 && !blank && lines[i].isEmpty { continue }
                lines[i] = width + lines[i]
            }
            text = lines.joined(separator: "\n")
            return .string(text)
        case "tojson":
            var indent: Int? = nil
            if case let .int(n)? = arg("indent", 0) { indent = n }
            var separators: (String, String)? = nil
            if case let .array(pair)? = arg("separators", 2), pair.count == 2 { separators = (pair[0].text, pair[1].text) }
            return .string(try JSONWriter.write(value, indent: indent, sortKeys: arg("sort_keys", 3)?.isTruthy ?? false,
                                                separators: separators, ensureASCII: arg("ensure_ascii", 1)?.isTruthy ?? false))
        case "wordcount":
            return .int(value.text.split { !($0.isLetter || $0.isNumber || $0 == "_") }.count)
        case "attr":
            return try attribute(value, arg("name", 0)?.text ?? "", baseExpr: nil)
        case "batch":
            guard case let .int(size)? = arg("linecount", 0), size > 0 else { throw TemplateError("batch needs a size") }
            let items = try iterate(value)
            return .array(stride(from: 0, to: items.count, by: size).map { .array(Array(items[$0..<min($0 + size, items.count)])) })
        case "center":
            var width = 80
            if case let .int(w)? = arg("width", 0) { width = w }
            let s = value.text, pad = max(0, width - s.count)
            return .string(String(repeating: " ", count: pad / 2) + s + String(repeating: " ", count: pad - pad / 2))
        case "truncate":
            var length = 255
            if case let .int(l)? = arg("length", 0) { length = l }
            let s = value.text
            let killwords = arg("killwords", 1)?.isTruthy ?? false
            let end = arg("end", 2)?.text ?? "..."
            var leeway = 5
            if case let .int(l)? = arg("leeway", 3) { leeway = l }
            if s.count <= length + leeway { return .string(s) }
            let cut = String(s.prefix(max(0, length - end.count)))
            if killwords { return .string(cut + end) }
            let words = cut.split(separator: " ", omittingEmptySubsequences: false)
            return .string((words.count > 1 ? words.dropLast().joined(separator: " ") : cut) + end)
        default:
            throw TemplateError("no filter named '\(name)'")
        }
    }

    /// `a.b.c` attribute paths as selectattr / map / sort use them (integer parts index lists).
    func attributePath(_ value: TemplateValue, _ path: String) throws -> TemplateValue {
        var v = value
        for part in path.split(separator: ".") {
            if case .undefined = v { return v }
            if let i = Int(part) { v = try itemValue(v, .int(i), baseExpr: nil) } else {
                if case .object(let o) = v { v = o[String(part)] ?? .undefined(String(part)) }
                else { v = try attribute(v, String(part), baseExpr: nil) }
            }
        }
        return v
    }

    func foldCase(_ v: TemplateValue, _ caseSensitive: Bool) -> TemplateValue {
        if !caseSensitive, case let .string(s) = v { return .string(s.lowercased()) }
        return v
    }

    func capitalize(_ s: String) -> String {
        guard let first = s.first else { return s }
        return String(first).uppercased() + s.dropFirst().lowercased()
    }

    func titleCase(_ s: String) -> String {
        var out = ""
        var startOfWord = true
        for c in s {
            out += startOfWord ? String(c).uppercased() : String(c).lowercased()
            startOfWord = c.isWhitespace || "-([{<".contains(c)
        }
        return out
    }

    func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        if old.isEmpty { return s }
        var out = "", rest = Substring(s), done = 0
        while count < 0 || done < count, let r = rest.range(of: old) {
            out += rest[..<r.lowerBound] + new
            rest = rest[r.upperBound...]
            done += 1
        }
        return out + rest
    }

    func strip(_ s: String, _ chars: String?, left: Bool, right: Bool) -> String {
        let isStripped: (Character) -> Bool = { c in chars.map { $0.contains(c) } ?? (c.isWhitespace) }
        var sub = Substring(s)
        if left { sub = sub.drop(while: isStripped) }
        if right { while let last = sub.last, isStripped(last) { sub = sub.dropLast() } }
        return String(sub)
    }
}

extension String {
    func trimmingPythonWhitespace() -> String {
        var sub = Substring(self).drop(while: \.isWhitespace)
        while let last = sub.last, last.isWhitespace { sub = sub.dropLast() }
        return String(sub)
    }

    func range(of needle: String) -> Range<String.Index>? { Substring(self).range(of: needle) }
}

extension Substring {
    func range(of needle: String) -> Range<String.Index>? {
        guard !needle.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
