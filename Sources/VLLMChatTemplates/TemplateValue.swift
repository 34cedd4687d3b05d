import OrderedCollections

/// A value inside a template: the JSON-like data passed in (messages, tools, ...) plus what templates create
/// (macros, namespaces, undefined names). Follows Python's semantics for truth, equality and printing.
public enum TemplateValue {
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([TemplateValue])
    case object(OrderedDictionary<String, TemplateValue>)
    case function(TemplateFunction)
    case namespace(TemplateNamespace)

    /// Python truthiness.
    public var isTruthy: Bool {
        switch self {
        case .undefined, .none: false
        case let .bool(b): b
        case let .int(i): i != 0
        case let .double(d): d != 0
        case let .string(s): !s.isEmpty
        case let .array(a): !a.isEmpty
        case let .object(o): !o.isEmpty
        case .function, .namespace: true
        }
    }

    var isUndefined: Bool { if case .undefined = self { true } else { false } }
    var isNone: Bool { if case .none = self { true } else { false } }
    var isBoolLike: Bool { if case .bool = self { true } else { false } }
    var isStringLike: Bool { if case .string = self { true } else { false } }

    var number: Double? {
        switch self {
        case let .int(i): Double(i)
        case let .double(d): d
        case let .bool(b): b ? 1 : 0
        default: nil
        }
    }

    /// Python `str()`.
    public var text: String {
        switch self {
        case .undefined: ""
        case let .string(s): s
        default: repr
        }
    }

    /// Python `repr()`.
    var repr: String {
        switch self {
        case .undefined: ""
        case .none: "None"
        case let .bool(b): b ? "True" : "False"
        case let .int(i): String(i)
        case let .double(d): Self.pythonFloat(d)
        case let .string(s): Self.pythonStringRepr(s)
        case let .array(a): "[" + a.map(\.repr).joined(separator: ", ") + "]"
        case let .object(o): "{" + o.map { Self.keyValue($0.key).repr + ": " + $0.value.repr }.joined(separator: ", ") + "}"
        case .function: "<function>"
        case let .namespace(n): "<Namespace " + n.values.map { "\($0.key)=\($0.value.repr)" }.joined(separator: ", ") + ">"
        }
    }

    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        if d == d.rounded(), abs(d) < 1e16 { return String(Int(d)) + ".0" }
        var s = "\(d)"
        if let e = s.firstIndex(of: "e") {
            let mantissa = s[..<e], exponent = s[s.index(after: e)...]
            let sign = exponent.hasPrefix("-") ? "-" : "+"
            var digits = String(exponent.drop { $0 == "-" || $0 == "+" })
            if digits.count < 2 { digits = "0" + digits }
            s = mantissa + "e" + sign + digits
        }
        return s
    }

    static func pythonStringRepr(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(c) == quote { out += "\\" + String(c) }
                else if c.value < 0x20 || c.value == 0x7F { out += "\\x" + String(c.value, radix: 16).leftPad(2) }
                else { out.unicodeScalars.append(c) }
            }
        }
        out.append(quote)
        return out
    }

    /// Dictionary keys are strings; integer keys (from dict literals such as `{0: 'a'}`) are kept distinct by a
    /// private prefix and turned back into integers when read.
    static func key(_ v: TemplateValue) -> String {
        if case let .int(i) = v { return "\u{1}" + String(i) }
        return v.text
    }

    static func keyValue(_ s: String) -> TemplateValue {
        if s.hasPrefix("\u{1}"), let i = Int(s.dropFirst()) { return .int(i) }
        return .string(s)
    }

    /// Builds a value from JSON-like Swift data (String, Bool, Int, Double, arrays, dictionaries, nil).
    public static func from(_ any: Any?) -> TemplateValue {
        switch any {
        case nil: return .none
        case let v as TemplateValue: return v
        case let v as String: return .string(v)
        case let v as Bool: return .bool(v)
        case let v as Int: return .int(v)
        case let v as Double: return .double(v)
        case let v as [Any?]: return .array(v.map(from))
        case let v as OrderedDictionary<String, Any?>: return .object(v.mapValues(from))
        case let v as [String: Any?]: return .object(OrderedDictionary(uniqueKeysWithValues: v.sorted { $0.key < $1.key }.map { ($0.key, from($0.value)) }))
        default: return .none
        }
    }
}

/// A callable value (macro, `caller`, global function, bound method).
public final class TemplateFunction {
    let call: ([TemplateValue], [(String, TemplateValue)]) throws -> TemplateValue
    init(_ call: @escaping ([TemplateValue], [(String, TemplateValue)]) throws -> TemplateValue) { self.call = call }
}

/// The mutable object `namespace()` returns.
public final class TemplateNamespace {
    var values: OrderedDictionary<String, TemplateValue>
    init(_ values: OrderedDictionary<String, TemplateValue>) { self.values = values }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
