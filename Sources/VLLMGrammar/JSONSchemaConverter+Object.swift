import VLLMJSON

/// Objects: the listed properties in the schema's order, optional ones omissible, then (only when
/// `additionalProperties` allows them) further members.
extension JSONSchemaConverter {
    mutating func object(_ o: JSONObject, path: String) throws(GrammarError) -> GrammarExpression {
        try check(o, allowed: ["properties", "required", "additionalProperties"], path: path)
        var names: [String] = [], values: [GrammarExpression] = []
        if let p = o["properties"] {
            guard case .object(let properties) = p else {
                throw GrammarError("JSON schema at \(path): properties must be an object")
            }
            for (i, (name, schema)) in properties.enumerated() {
                names.append(name)
                values.append(try value(schema, path: "\(path)_prop_\(i)"))
            }
        }
        var required = Set<String>()
        if let r = o["required"] {
            guard case .array(let list) = r, list.allSatisfy({ $0.string != nil }) else {
                throw GrammarError("JSON schema at \(path): required must be a list of strings")
            }
            required = Set(list.compactMap(\.string))
        }
        for name in required where !names.contains(name) {
            throw GrammarError("JSON schema at \(path): required property '\(name)' is not in properties (not supported)")
        }
        var additional: GrammarExpression? = nil
        switch o["additionalProperties"] {
        case nil where o["properties"] == nil:
            // `{"type": "object"}` alone is any object (xgrammar's `basic_object`), strict mode or not.
            additional = basicAny()
        case nil, .bool(false)?: additional = nil
        case .bool(true)?: additional = basicAny()
        case let schema?: additional = try value(schema, path: "\(path)_additional")
        }
        let comma = GrammarExpression.sequence([whitespace, .literal(","), whitespace])
        let colon = GrammarExpression.sequence([whitespace, .literal(":"), whitespace])
        var members: [GrammarExpression] = []
        for (name, v) in zip(names, values) {
            var key = ""
            JSONValue.quote(name, into: &key)
            members.append(.sequence([.literal(key), colon, v]))
        }
        let extra: GrammarExpression? = additional.map { .sequence([basicString(), colon, $0]) }
        let tail: GrammarExpression = extra.map { .star(.sequence([comma, $0])) } ?? .empty
        // after[i]: what may follow once listed property i is written (a rule, so the choices stay linear in size).
        var after = [GrammarExpression](repeating: .empty, count: names.count)
        for i in stride(from: names.count - 1, through: 0, by: -1) {
            var alternatives: [GrammarExpression] = []
            var j = i + 1
            while j < names.count {
                alternatives.append(.sequence([comma, members[j], after[j]]))
                if required.contains(names[j]) { break }
                j += 1
            }
            if j >= names.count { alternatives.append(tail) }
            after[i] = alternatives.count == 1 ? alternatives[0] : newRule("\(path)_part", .choice(alternatives))
        }
        var first: [GrammarExpression] = []
        var j = 0
        while j < names.count {
            first.append(.sequence([members[j], after[j]]))
            if required.contains(names[j]) { break }
            j += 1
        }
        if j >= names.count, let extra { first.append(.sequence([extra, tail])) }
        var alternatives: [GrammarExpression] = []
        if !first.isEmpty {
            alternatives.append(.sequence([.literal("{"), whitespace, .choice(first), whitespace, .literal("}")]))
        }
        if required.isEmpty { alternatives.append(.sequence([.literal("{"), whitespace, .literal("}")])) }
        return alternatives.count == 1 ? alternatives[0] : .choice(alternatives)
    }
}
