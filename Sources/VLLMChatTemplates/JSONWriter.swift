/// `json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=...)` as transformers' `tojson` filter calls it.
enum JSONWriter {
    static func write(_ value: TemplateValue, indent: Int?, sortKeys: Bool = false, separators: (String, String)? = nil,
                      ensureASCII: Bool = false) throws -> String {
        var writer = Writer(indent: indent, sortKeys: sortKeys, item: separators?.0 ?? (indent == nil ? ", " : ","),
                            key: separators?.1 ?? ": ", ensureASCII: ensureASCII)
        try writer.write(value, level: 0)
        return writer.out
    }

    struct Writer {
        let indent: Int?
        let sortKeys: Bool
        let item: String
        let key: String
        let ensureASCII: Bool
        var out = ""

        mutating func write(_ value: TemplateValue, level: Int) throws {
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
                    newline(level + 1)
                    try write(element, level: level + 1)
                }
                newline(level)
                out += "]"
            case let .object(o):
                if o.isEmpty { out += "{}"; return }
                out += "{"
                let keys = sortKeys ? o.keys.sorted() : Array(o.keys)
                for (i, k) in keys.enumerated() {
                    if i > 0 { out += item }
                    newline(level + 1)
                    out += JSONWriter.quote(TemplateValue.keyValue(k).text, ensureASCII: ensureASCII) + key
                    try write(o[k]!, level: level + 1)
                }
                newline(level)
                out += "}"
            case let .namespace(n): try write(.object(n.values), level: level)
            case .function: throw TemplateError("Object of type function is not JSON serializable")
            }
        }

        mutating func newline(_ level: Int) {
            guard let indent else { return }
            out += "\n" + String(repeating: " ", count: indent * level)
        }
    }

    static func quote(_ s: String, ensureASCII: Bool = false) -> String {
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
                if c.value < 0x20 || (ensureASCII && c.value > 0x7E) {
                    if c.value > 0xFFFF {
                        let v = c.value - 0x10000
                        out += "\\u" + String(0xD800 + (v >> 10), radix: 16).leftPad(4) + "\\u" + String(0xDC00 + (v & 0x3FF), radix: 16).leftPad(4)
                    } else {
                        out += "\\u" + String(c.value, radix: 16).leftPad(4)
                    }
                } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }
}
