/// JSON text of a value, the way Python's `json.dumps` writes it (vLLM serializes tool-call arguments and schemas so).
extension JSONValue {
    /// The value as JSON text. The defaults are `json.dumps(value, ensure_ascii=False)`; `asciiOnly` escapes every
    /// non-ASCII character as `\uXXXX` (surrogate pairs above the BMP), as `ensure_ascii=True` does.
    public func serialized(itemSeparator: String = ", ", keySeparator: String = ": ", asciiOnly: Bool = false) -> String {
        var out = ""
        write(into: &out, itemSeparator, keySeparator, asciiOnly)
        return out
    }

    private func write(into out: inout String, _ item: String, _ key: String, _ ascii: Bool) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += Self.text(of: n)
        case .string(let s): Self.quote(s, into: &out, ascii)
        case .array(let a):
            out += "["
            for (i, element) in a.enumerated() {
                if i > 0 { out += item }
                element.write(into: &out, item, key, ascii)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, (name, value)) in o.enumerated() {
                if i > 0 { out += item }
                Self.quote(name, into: &out, ascii)
                out += key
                value.write(into: &out, item, key, ascii)
            }
            out += "}"
        }
    }

    /// Whole numbers print as integers (JSON does not tell 1 from 1.0 apart; clients parse both the same). JSON has
    /// no NaN or infinity: they print as null (parsed JSON never holds them; a model's output might).
    static func text(of n: Double) -> String {
        guard n.isFinite else { return "null" }
        if n == n.rounded(), abs(n) < 1e16 { return String(Int64(n)) }
        return "\(n)"
    }

    /// A JSON string literal with Python's escapes: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other controls as `\u00XX`.
    public static func quote(_ s: String, into out: inout String, _ asciiOnly: Bool = false) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || (asciiOnly && scalar.value > 0x7E) {
                    if scalar.value > 0xFFFF {
                        let v = scalar.value - 0x10000
                        out += hex(0xD800 + (v >> 10)) + hex(0xDC00 + (v & 0x3FF))
                    } else {
                        out += hex(scalar.value)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    private static func hex(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
    }
}
