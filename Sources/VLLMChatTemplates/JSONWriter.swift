/// `json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=...)` as transformers' `tojson` filter calls it.
enum JSONWriter {
    static func write(_ value: TemplateValue, indent: Int?, sortKeys: Bool = false) throws -> String {
        var out = ""
        try write(value, indent: indent, level: 0, sortKeys: sortKeys, into: &out)
        return out
    }

    private static func write(_ value: TemplateValue, indent: Int?, level: Int, sortKeys: Bool, into out: inout String) throws {
        switch value {
        case .none, .undefined: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .double(d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d > 0 ? "Infinity" : "-Infinity" } else { out += TemplateValue.pythonFloat(d) }
        case let .string(s): out += quote(s)
        case let .array(items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += indent == nil ? ", " : "," }
                newline(indent, level + 1, &out)
                try write(item, indent: indent, level: level + 1, sortKeys: sortKeys, into: &out)
            }
            newline(indent, level, &out)
            out += "]"
        case let .object(o):
            if o.isEmpty { out += "{}"; return }
            out += "{"
            let keys = sortKeys ? o.keys.sorted() : Array(o.keys)
            for (i, key) in keys.enumerated() {
                if i > 0 { out += indent == nil ? ", " : "," }
                newline(indent, level + 1, &out)
                out += quote(TemplateValue.keyValue(key).text) + ": "
                try write(o[key]!, indent: indent, level: level + 1, sortKeys: sortKeys, into: &out)
            }
            newline(indent, level, &out)
            out += "}"
        case let .namespace(n): try write(.object(n.values), indent: indent, level: level, sortKeys: sortKeys, into: &out)
        case .function: throw TemplateError("Object of type function is not JSON serializable")
        }
    }

    private static func newline(_ indent: Int?, _ level: Int, _ out: inout String) {
        guard let indent else { return }
        out += "\n" + String(repeating: " ", count: indent * level)
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 { out += "\\u" + String(c.value, radix: 16).leftPad(4) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }
}
