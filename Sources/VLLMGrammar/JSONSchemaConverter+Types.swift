import VLLMJSON

/// The grammar of each JSON type, as xgrammar writes it.
extension JSONSchemaConverter {
    static let digits = GrammarExpression.characters(CodepointClass([48...57]))
    static let nonZeroDigit = GrammarExpression.characters(CodepointClass([49...57]))
    /// `0`, or an optional minus and digits without a leading zero (`-0` is not allowed).
    static let integer = GrammarExpression.choice([
        .literal("0"), .sequence([.optional(.literal("-")), nonZeroDigit, .star(digits)]),
    ])
    /// An integer part (leading zeros not allowed), an optional fraction and an optional exponent.
    static let number = GrammarExpression.sequence([
        .optional(.literal("-")),
        .choice([.literal("0"), .sequence([nonZeroDigit, .star(digits)])]),
        .optional(.sequence([.literal("."), .repeated(digits, min: 1, max: nil)])),
        .optional(.sequence([
            .characters(CodepointClass([69...69, 101...101])), .optional(.characters(CodepointClass([43...43, 45...45]))),
            .repeated(digits, min: 1, max: nil),
        ])),
    ])
    /// The inside of a JSON string: any character but `"`, `\` and controls, or an escape.
    static let stringCharacters = GrammarExpression.star(.choice([
        .characters(CodepointClass([0...0x1F, 34...34, 92...92], negated: true)),
        .sequence([.literal("\\"), .choice([
            .characters(CodepointClass([34...34, 92...92, 47...47, 98...98, 102...102, 110...110, 114...114, 116...116])),
            .sequence([.literal("u")] + Array(repeating: .characters(CodepointClass([48...57, 65...70, 97...102])), count: 4)),
        ])]),
    ]))

    /// Any JSON string.
    mutating func basicString() -> GrammarExpression {
        if !grammar.hasRule("basic_string") {
            grammar.define("basic_string", .sequence([.literal("\""), Self.stringCharacters, .literal("\"")]))
        }
        return .rule("basic_string")
    }

    /// Any JSON value (`{}` and `true` schemas, and object members that `additionalProperties: true` allows).
    mutating func basicAny() -> GrammarExpression {
        if grammar.hasRule("basic_any") { return .rule("basic_any") }
        let string = basicString()
        grammar.define("basic_any", .empty)
        let any = GrammarExpression.rule("basic_any")
        let comma = GrammarExpression.sequence([whitespace, .literal(","), whitespace])
        let member = GrammarExpression.sequence([string, whitespace, .literal(":"), whitespace, any])
        grammar.define("basic_array", .choice([
            .sequence([.literal("["), whitespace, any, .star(.sequence([comma, any])), whitespace, .literal("]")]),
            .sequence([.literal("["), whitespace, .literal("]")]),
        ]))
        grammar.define("basic_object", .choice([
            .sequence([.literal("{"), whitespace, member, .star(.sequence([comma, member])), whitespace, .literal("}")]),
            .sequence([.literal("{"), whitespace, .literal("}")]),
        ]))
        grammar.define("basic_any", .choice([
            Self.number, string, .literal("true"), .literal("false"), .literal("null"), .rule("basic_array"),
            .rule("basic_object"),
        ]))
        return any
    }

    mutating func string(_ o: JSONObject, path: String) throws(GrammarError) -> GrammarExpression {
        try check(o, allowed: ["minLength", "maxLength", "pattern"], path: path)
        if case .string(let pattern)? = o["pattern"] {
            if o["minLength"] != nil || o["maxLength"] != nil {
                throw GrammarError("JSON schema at \(path): pattern together with minLength/maxLength is not supported")
            }
            var parser = RegexParser(pattern)
            let body: GrammarExpression
            do { body = try parser.parse() } catch { throw GrammarError("JSON schema at \(path): pattern: \(error.description)") }
            return .sequence([.literal("\""), body, .literal("\"")])
        }
        let low = try count(o["minLength"], "minLength", path) ?? 0
        let high = try count(o["maxLength"], "maxLength", path)
        if low == 0 && high == nil { return basicString() }
        if let high, high < low { throw GrammarError("JSON schema at \(path): maxLength is below minLength") }
        // xgrammar counts characters other than `"`, `\`, CR and LF (escapes are not allowed in a bounded string).
        let character = GrammarExpression.characters(CodepointClass([34...34, 92...92, 13...13, 10...10], negated: true))
        return .sequence([.literal("\""), .repeated(character, min: low, max: high), .literal("\"")])
    }

    func count(_ v: JSONValue?, _ key: String, _ path: String) throws(GrammarError) -> Int? {
        guard let v else { return nil }
        guard case .number(let n) = v, n >= 0, n == n.rounded(), n <= 100_000 else {
            throw GrammarError("JSON schema at \(path): \(key) must be a non-negative integer (at most 100000)")
        }
        return Int(n)
    }

    mutating func array(_ o: JSONObject, path: String) throws(GrammarError) -> GrammarExpression {
        try check(o, allowed: ["items", "prefixItems", "minItems", "maxItems"], path: path)
        var prefix: [GrammarExpression] = []
        if let p = o["prefixItems"] {
            guard case .array(let schemas) = p else { throw GrammarError("JSON schema at \(path): prefixItems must be an array") }
            for (i, s) in schemas.enumerated() { prefix.append(try value(s, path: "\(path)_prefix_\(i)")) }
        }
        var item: GrammarExpression? = basicAny()
        if let items = o["items"] {
            if case .bool(false) = items { item = nil } else { item = try value(items, path: "\(path)_item") }
        }
        let low = try count(o["minItems"], "minItems", path) ?? 0
        var high = try count(o["maxItems"], "maxItems", path)
        if item == nil { high = min(high ?? prefix.count, prefix.count) }
        if let high, high < low {
            throw GrammarError("JSON schema at \(path): no array satisfies minItems \(low) and maxItems \(high)")
        }
        let comma = GrammarExpression.sequence([whitespace, .literal(","), whitespace])
        // rest(j): what may follow once j elements are written.
        func rest(_ j: Int) -> GrammarExpression {
            if let high, j >= high { return .empty }
            if j < prefix.count {
                let more = GrammarExpression.sequence([comma, prefix[j], rest(j + 1)])
                return j >= low ? .optional(more) : more
            }
            let repeated = GrammarExpression.repeated(.sequence([comma, item!]), min: max(0, low - j), max: high.map { $0 - j })
            return repeated
        }
        var alternatives: [GrammarExpression] = []
        if let first = prefix.first ?? item, high != 0 {
            alternatives.append(.sequence([.literal("["), whitespace, first, rest(1), whitespace, .literal("]")]))
        }
        if low == 0 { alternatives.append(.sequence([.literal("["), whitespace, .literal("]")])) }
        return alternatives.count == 1 ? alternatives[0] : .choice(alternatives)
    }
}
