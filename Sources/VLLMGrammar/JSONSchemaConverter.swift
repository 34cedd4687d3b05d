import VLLMJSON

/// Converts a JSON schema to a grammar the way xgrammar's converter does as vLLM calls it (`any_whitespace=True`,
/// strict mode): whitespace `[ \n\r\t]*` around every separator and none around the value, `,` and `:` separators,
/// properties in the schema's order (optional ones may be left out, required ones not), no properties beyond the listed
/// ones unless `additionalProperties` allows them. A keyword the engine does not support is an error naming it.
struct JSONSchemaConverter {
    /// Keywords that only annotate a schema.
    static let annotations: Set<String> = [
        "title", "description", "$schema", "$id", "$comment", "default", "examples", "deprecated", "readOnly",
        "writeOnly", "$defs", "definitions", "strict", "name", "nullable",
    ]

    let whitespace: GrammarExpression
    var grammar = Grammar()
    private var root: JSONValue = .null
    /// Rule names of `$ref` targets already converted (or in progress).
    private var referenced: [String: String] = [:]
    private var ruleCounter = 0

    init(whitespacePattern: String?) throws(GrammarError) {
        if let whitespacePattern {
            var parser = RegexParser(whitespacePattern)
            do { whitespace = try parser.parse() } catch { throw GrammarError("whitespace_pattern: \(error.description)") }
        } else {
            whitespace = .star(.characters(CodepointClass([32...32, 10...10, 13...13, 9...9])))
        }
    }

    mutating func convert(_ schema: JSONValue) throws(GrammarError) -> Grammar {
        root = schema
        referenced["#"] = "root"
        grammar.define("root", .empty)
        grammar.define("root", try value(schema, path: "root"))
        return grammar
    }

    /// A fresh rule name under `path`.
    mutating func newRule(_ path: String, _ body: GrammarExpression) -> GrammarExpression {
        ruleCounter += 1
        let name = "\(path)_\(ruleCounter)"
        grammar.define(name, body)
        return .rule(name)
    }

    /// The expression for values valid against `schema`.
    mutating func value(_ schema: JSONValue, path: String) throws(GrammarError) -> GrammarExpression {
        switch schema {
        case .bool(true): return basicAny()
        case .bool(false): throw GrammarError("JSON schema at \(path): the schema 'false' matches nothing")
        case .object(let o): return try value(o, path: path)
        default: throw GrammarError("JSON schema at \(path): a schema must be an object or a boolean")
        }
    }

    private mutating func value(_ o: JSONObject, path: String) throws(GrammarError) -> GrammarExpression {
        if let ref = o["$ref"] {
            guard case .string(let target) = ref else { throw GrammarError("JSON schema at \(path): $ref must be a string") }
            try check(o, allowed: ["$ref"], path: path)
            return .rule(try reference(target, path: path))
        }
        if case .bool(true) = o["nullable"] ?? .null {
            var inner = o
            inner["nullable"] = nil
            return .choice([try value(inner, path: path), .literal("null")])
        }
        if let c = o["const"] {
            try check(o, allowed: ["const", "type", "enum", "nullable"], path: path)
            return literal(c)
        }
        if let e = o["enum"] {
            guard case .array(let values) = e, !values.isEmpty else {
                throw GrammarError("JSON schema at \(path): enum must be a non-empty array")
            }
            try check(o, allowed: ["enum", "type", "nullable"], path: path)
            return .choice(values.map(literal))
        }
        for key in ["anyOf", "oneOf"] {
            guard let list = o[key] else { continue }
            guard case .array(let schemas) = list, !schemas.isEmpty else {
                throw GrammarError("JSON schema at \(path): \(key) must be a non-empty array")
            }
            try check(o, allowed: [key, "nullable"], path: path)
            var alternatives: [GrammarExpression] = []
            for (i, s) in schemas.enumerated() { alternatives.append(try value(s, path: "\(path)_case_\(i)")) }
            return .choice(alternatives)
        }
        if let all = o["allOf"] {
            guard case .array(let schemas) = all, schemas.count == 1 else {
                throw GrammarError("JSON schema at \(path): allOf with more than one schema is not supported")
            }
            try check(o, allowed: ["allOf"], path: path)
            return try value(schemas[0], path: path)
        }
        let types: [String]
        switch o["type"] {
        case .string(let t)?: types = [t]
        case .array(let list)?:
            types = list.compactMap(\.string)
            if types.count != list.count || types.isEmpty {
                throw GrammarError("JSON schema at \(path): type must be a string or a non-empty list of strings")
            }
        case nil:
            if o["properties"] != nil || o["additionalProperties"] != nil || o["required"] != nil { types = ["object"] }
            else if o["items"] != nil || o["prefixItems"] != nil { types = ["array"] }
            else {
                try check(o, allowed: [], path: path)
                return basicAny()
            }
        default: throw GrammarError("JSON schema at \(path): type must be a string or a list of strings")
        }
        var alternatives: [GrammarExpression] = []
        for t in types { alternatives.append(try typed(t, o, path: path)) }
        return alternatives.count == 1 ? alternatives[0] : .choice(alternatives)
    }

    private mutating func typed(_ type: String, _ o: JSONObject, path: String) throws(GrammarError) -> GrammarExpression {
        switch type {
        case "string": return try string(o, path: path)
        case "integer":
            try check(o, allowed: ["type"], path: path)
            return Self.integer
        case "number":
            try check(o, allowed: ["type"], path: path)
            return Self.number
        case "boolean":
            try check(o, allowed: ["type"], path: path)
            return .choice([.literal("true"), .literal("false")])
        case "null":
            try check(o, allowed: ["type"], path: path)
            return .literal("null")
        case "array": return try array(o, path: path)
        case "object": return try object(o, path: path)
        default: throw GrammarError("JSON schema at \(path): unknown type '\(type)'")
        }
    }

    /// Refuses keywords outside `allowed` (and the annotations), naming the first one.
    func check(_ o: JSONObject, allowed: Set<String>, path: String) throws(GrammarError) {
        for key in o.keys where !allowed.contains(key) && !Self.annotations.contains(key) && key != "type" {
            throw GrammarError("JSON schema at \(path): the keyword '\(key)' is not supported here")
        }
    }

    /// The rule of a `$ref` target (`#`, `#/$defs/name`, `#/definitions/name`, or any JSON pointer into the schema).
    private mutating func reference(_ target: String, path: String) throws(GrammarError) -> String {
        if let name = referenced[target] { return name }
        guard target.hasPrefix("#/") else {
            throw GrammarError("JSON schema at \(path): $ref '\(target)' is not supported (only local '#/...' references)")
        }
        var node = root
        for raw in target.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
            let key = raw.replacingTilde
            switch node {
            case .object(let o) where o[key] != nil: node = o[key]!
            case .array(let a) where Int(key).map(a.indices.contains) == true: node = a[Int(key)!]
            default: throw GrammarError("JSON schema at \(path): $ref '\(target)' does not resolve")
            }
        }
        var name = "defs_" + target.dropFirst(2).map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
        while grammar.hasRule(name) { name += "_" }
        referenced[target] = name
        grammar.define(name, .empty)
        grammar.define(name, try value(node, path: name))
        return name
    }

    /// A JSON value written literally (enum and const members).
    private func literal(_ v: JSONValue) -> GrammarExpression { .literal(v.serialized(itemSeparator: ",", keySeparator: ":")) }
}

extension Substring {
    /// A JSON pointer token unescaped (`~1` is `/`, `~0` is `~`).
    var replacingTilde: String {
        var out = "", tilde = false
        for c in self {
            if tilde { out.append(c == "1" ? "/" : c == "0" ? "~" : c); tilde = false }
            else if c == "~" { tilde = true }
            else { out.append(c) }
        }
        return out
    }
}
