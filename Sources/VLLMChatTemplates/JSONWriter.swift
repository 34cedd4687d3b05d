import VLLMJSON

/// `json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=...)` as transformers' `tojson` filter calls it.
enum JSONWriter {
    /// Writes within `budget`: the text's size, the nesting and the time are checked as it grows.
    static func write(_ value: TemplateValue, indent: Int?, sortKeys: Bool = false, separators: (String, String)? = nil,
                      ensureASCII: Bool = false, budget: RenderBudget) throws -> String {
        var writer = Writer(indent: indent.map { max($0, 0) }, sortKeys: sortKeys, item: separators?.0 ?? (indent == nil ? ", " : ","),
                            key: separators?.1 ?? ": ", ensureASCII: ensureASCII, budget: budget)
        try writer.write(value, level: 0)
        try budget.allocateString(writer.out.utf8.count)
        return writer.out
    }

    struct Writer {
        let indent: Int?
        let sortKeys: Bool
        let item: String
        let key: String
        let ensureASCII: Bool
        let budget: RenderBudget
        var out = ""

        mutating func write(_ value: TemplateValue, level: Int) throws {
            try budget.spend()
            if level > 2 * budget.limits.maxValueDepth {
                throw TemplateError.limit("values nested deeper than \(2 * budget.limits.maxValueDepth) levels")
            }
            try budget.checkLength(out)
            switch value {
            case .none, .undefined: out += "null"
            case let .bool(b): out += b ? "true" : "false"
            case let .int(i): out += String(i)
            case let .double(d):
                if d.isNaN { out += "NaN" } else if d.isInfinite { out += d > 0 ? "Infinity" : "-Infinity" } else { out += TemplateValue.pythonFloat(d) }
            case let .string(s): out += JSONWriter.quote(s, ensureASCII: ensureASCII)
            case let .array(items):
                if items.isEmpty { out += "[]"; return }
                out += "["
                for (i, element) in items.enumerated() {
                    if i > 0 { out += item }
                    try newline(level + 1)
                    try write(element, level: level + 1)
                }
                try newline(level)
                out += "]"
            case let .object(o):
                if o.isEmpty { out += "{}"; return }
                out += "{"
                let keys = sortKeys ? o.keys.sorted() : Array(o.keys)
                for (i, k) in keys.enumerated() {
                    if i > 0 { out += item }
                    try newline(level + 1)
                    out += JSONWriter.quote(TemplateValue.keyValue(k).text, ensureASCII: ensureASCII) + key
                    try write(o[k] ?? .none, level: level + 1)
                }
                try newline(level)
                out += "}"
            case .namespace: throw TemplateError("Object of type Namespace is not JSON serializable")
            case .function: throw TemplateError("Object of type function is not JSON serializable")
            }
        }

        mutating func newline(_ level: Int) throws {
            guard let indent else { return }
            let (width, overflow) = indent.multipliedReportingOverflow(by: level)
            if overflow || width > budget.limits.maxStringBytes - out.utf8.count {
                throw TemplateError.limit("tojson output larger than the sandbox allows (\(budget.limits.maxStringBytes) bytes)")
            }
            out += "\n"
            out += TemplateRenderer.doubling(" ", width)
        }
    }

    /// A JSON string literal with Python's escapes (`ensure_ascii` escapes every non-ASCII character).
    static func quote(_ s: String, ensureASCII: Bool = false) -> String {
        var out = ""
        JSONValue.quote(s, into: &out, ensureASCII)
        return out
    }
}
