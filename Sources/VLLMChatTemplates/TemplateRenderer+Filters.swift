#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// jinja2's filters on strings and numbers; collection filters are in `TemplateRenderer+SequenceFilters.swift`.
extension TemplateRenderer {
    func kwarg(_ kwargs: [(String, TemplateValue)], _ name: String, _ args: [TemplateValue], _ position: Int) -> TemplateValue? {
        if let kw = kwargs.first(where: { $0.0 == name }) { return kw.1 }
        return position < args.count ? args[position] : nil
    }

    func applyFilter(_ name: String, _ value: TemplateValue, _ args: [TemplateValue], _ kwargs: [(String, TemplateValue)]) throws -> TemplateValue {
        try budget.spend()
        if let result = try applySequenceFilter(name, value, args, kwargs) { return result }
        func arg(_ n: String, _ i: Int) -> TemplateValue? { kwarg(kwargs, n, args, i) }
        switch name {
        case "safe": return value
        case "escape", "e", "forceescape":
            var s = ""
            for c in try str(value) {
                switch c {
                case "&": s += "&amp;"
                case "<": s += "&lt;"
                case ">": s += "&gt;"
                case "\"": s += "&#34;"
                case "'": s += "&#39;"
                default: s.append(c)
                }
            }
            try budget.allocateString(s.utf8.count)
            return .string(s)
        case "string": return .string(try str(value))
        case "trim":
            if let chars = arg("chars", 0), case let .string(set) = chars { return .string(strip(try str(value), set, left: true, right: true)) }
            return .string(try str(value).trimmingPythonWhitespace())
        case "upper": return .string(try str(value).uppercased())
        case "lower": return .string(try str(value).lowercased())
        case "capitalize": return .string(capitalize(try str(value)))
        case "title": return .string(titleCase(try str(value)))
        case "default", "d":
            let fallback = arg("default_value", 0) ?? .string("")
            let boolean = arg("boolean", 1)?.isTruthy ?? false
            if value.isUndefined || (boolean && !value.isTruthy) { return fallback }
            return value
        case "replace":
            guard let old = arg("old", 0), let new = arg("new", 1) else { throw TemplateError("replace needs two arguments") }
            var count = -1
            if case let .int(c)? = arg("count", 2) { count = c }
            return .string(try replace(try str(value), try str(old), try str(new), count: count))
        case "abs":
            switch value {
            case let .int(i): return .int(i < 0 ? try Self.checked(0.subtractingReportingOverflow(i), "abs(\(i))") : i)
            case let .bool(b): return .int(b ? 1 : 0)
            default: return .double(abs(value.number ?? 0))
            }
        case "int": return try integerFilter(value, fallback: arg("default", 0) ?? .int(0))
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
        case "indent": return try indent(value, arg("width", 0), first: arg("first", 1)?.isTruthy ?? false, blank: arg("blank", 2)?.isTruthy ?? false)
        case "tojson":
            var indent: Int? = nil
            if case let .int(n)? = arg("indent", 0) { indent = n }
            var separators: (String, String)? = nil
            if case let .array(pair)? = arg("separators", 2), pair.count == 2 { separators = (try str(pair[0]), try str(pair[1])) }
            return .string(try JSONWriter.write(value, indent: indent, sortKeys: arg("sort_keys", 3)?.isTruthy ?? false,
                                                separators: separators, ensureASCII: arg("ensure_ascii", 1)?.isTruthy ?? false,
                                                budget: budget))
        case "wordcount":
            return .int(try str(value).split { !($0.isLetter || $0.isNumber || $0 == "_") }.count)
        case "attr":
            return try attribute(value, try str(arg("name", 0) ?? .string("")))
        case "center":
            var width = 80
            if case let .int(w)? = arg("width", 0) { width = w }
            let s = try str(value)
            let (missing, overflow) = width.subtractingReportingOverflow(s.count)
            let pad = overflow ? 0 : max(0, missing)
            try budget.allocateString(s.utf8.count + pad)
            return .string(Self.doubling(" ", pad / 2) + s + Self.doubling(" ", pad - pad / 2))
        case "truncate":
            var length = 255
            if case let .int(l)? = arg("length", 0) { length = l }
            let s = try str(value)
            let killwords = arg("killwords", 1)?.isTruthy ?? false
            let end = try str(arg("end", 2) ?? .string("..."))
            var leeway = 5
            if case let .int(l)? = arg("leeway", 3) { leeway = l }
            guard length >= end.count else { throw TemplateError("expected length >= \(end.count), got \(length)") }
            guard leeway >= 0 else { throw TemplateError("expected leeway >= 0, got \(leeway)") }
            let (limit, overflow) = length.addingReportingOverflow(leeway)
            if overflow || s.count <= limit { return .string(s) }
            let cut = String(s.prefix(length - end.count))
            if killwords { return .string(cut + end) }
            let words = cut.split(separator: " ", omittingEmptySubsequences: false)
            return .string((words.count > 1 ? words.dropLast().joined(separator: " ") : cut) + end)
        default:
            throw TemplateError("no filter named '\(name)'")
        }
    }

    /// jinja2's `int` filter: `int(value)`, else `int(float(value))`, else the default. As in jinja2, NaN (and a
    /// string that parses to infinity) gives the default, an infinite float is an error.
    private func integerFilter(_ value: TemplateValue, fallback: TemplateValue) throws -> TemplateValue {
        switch value {
        case let .int(i): return .int(i)
        case let .double(d): return d.isNaN ? fallback : .int(try integerValue(d))
        case let .bool(b): return .int(b ? 1 : 0)
        case let .string(s):
            let t = s.trimmingPythonWhitespace()
            if let i = Int(t) { return .int(i) }
            let digits = t.first == "-" || t.first == "+" ? t.dropFirst() : Substring(t)
            if !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) { throw Self.overflow("int('\(t.prefix(40))')") }
            if let d = Double(t), d.isFinite { return .int(try integerValue(d)) }
            return fallback
        default: return fallback
        }
    }

    /// jinja2's `indent(width=4, first=False, blank=False)`: `width` spaces, or the string given.
    private func indent(_ value: TemplateValue, _ widthArgument: TemplateValue?, first: Bool, blank: Bool) throws -> TemplateValue {
        var width = "    "
        if let w = widthArgument {
            if case let .int(n) = w { width = n > 0 ? try repeated(" ", n) : "" } else { width = try str(w) }
        }
        let text = try str(value)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let (added, overflow) = width.utf8.count.multipliedReportingOverflow(by: lines.count)
        try budget.allocateString(overflow ? Int.max : text.utf8.count + added)
        for i in lines.indices where (i > 0 || first) && (blank || !lines[i].trimmingPythonWhitespace().isEmpty) {
            if i == 0 && !blank && lines[i].isEmpty { continue }
            lines[i] = width + lines[i]
        }
        return .string(lines.joined(separator: "\n"))
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
