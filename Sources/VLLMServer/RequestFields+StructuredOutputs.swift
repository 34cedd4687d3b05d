import Foundation
import VLLMGrammar
import VLLMJSON

/// `response_format` and `structured_outputs`, decoded as vLLM's request models turn them into
/// `StructuredOutputsParams`: exactly one constraint; the removed `guided_*` fields are refused with the new name.
extension RequestFields {
    /// The fields vLLM removed in favour of `structured_outputs`, and the member each became.
    static let removedGuidedFields: [(field: String, replacement: String)] = [
        ("guided_json", "json"), ("guided_regex", "regex"), ("guided_choice", "choice"), ("guided_grammar", "grammar"),
        ("guided_whitespace_pattern", "whitespace_pattern"), ("guided_decoding_backend", ""),
    ]

    /// The request's output constraint, if any.
    func structuredOutputs() throws(APIError) -> StructuredOutputs? {
        for (field, replacement) in Self.removedGuidedFields where self[field] != nil {
            let hint = replacement.isEmpty ? "the server picks the backend" : "use structured_outputs.\(replacement)"
            throw .invalid("'\(field)' was removed from vLLM's API; \(hint) (e.g. {\"structured_outputs\": {\"json\": ...}})", param: field)
        }
        var constraints: [StructuredOutputs] = []
        var whitespacePattern: String? = nil
        if let fields = try object("structured_outputs") {
            let (constraint, pattern) = try Self.structuredOutputsParams(fields)
            whitespacePattern = pattern
            if let constraint { constraints.append(constraint) }
        }
        if let format = try object("response_format") {
            if let constraint = try Self.responseFormat(format, whitespacePattern: whitespacePattern) { constraints.append(constraint) }
        }
        guard constraints.count <= 1 else {
            throw .invalid("You can only use one kind of structured outputs constraint but multiple are specified (response_format and structured_outputs)",
                           param: "structured_outputs")
        }
        return constraints.first
    }

    /// `structured_outputs`: one of json, regex, choice, grammar, json_object, and the options vLLM accepts beside them.
    private static func structuredOutputsParams(_ fields: JSONObject) throws(APIError) -> (StructuredOutputs?, String?) {
        let param = "structured_outputs"
        let known: Set<String> = ["json", "regex", "choice", "grammar", "json_object", "structural_tag", "whitespace_pattern",
                                  "disable_any_whitespace", "disable_additional_properties", "disable_fallback"]
        if let unknown = fields.keys.first(where: { !known.contains($0) }) {
            throw .invalid("structured_outputs has no field '\(unknown)'", param: param)
        }
        var pattern: String? = nil
        if let p = fields["whitespace_pattern"], p != .null {
            guard let s = p.string else { throw .invalid("structured_outputs.whitespace_pattern must be a string", param: param) }
            pattern = s
        }
        for option in ["disable_any_whitespace", "disable_additional_properties"] {
            if let v = fields[option], v != .null {
                guard let b = v.bool else { throw .invalid("structured_outputs.\(option) must be a boolean", param: param) }
                if b { throw .invalid("structured_outputs.\(option) is not supported", param: param) }
            }
        }
        if let v = fields["disable_fallback"], v != .null, v.bool == nil {
            throw .invalid("structured_outputs.disable_fallback must be a boolean", param: param)
        }
        if let v = fields["structural_tag"], v != .null { throw .invalid("structured_outputs.structural_tag is not supported", param: param) }
        var found: [StructuredOutputs] = []
        if let json = fields["json"], json != .null { found.append(.json(schema: try schema(json, param: param), whitespacePattern: pattern)) }
        if let regex = fields["regex"], regex != .null {
            guard let s = regex.string else { throw .invalid("structured_outputs.regex must be a string", param: param) }
            found.append(.regex(s))
        }
        if let choice = fields["choice"], choice != .null {
            guard let items = choice.array, !items.isEmpty, items.allSatisfy({ $0.string != nil }) else {
                throw .invalid("structured_outputs.choice must be a non-empty list of strings", param: param)
            }
            found.append(.choice(items.compactMap(\.string)))
        }
        if let grammar = fields["grammar"], grammar != .null {
            guard let s = grammar.string else { throw .invalid("structured_outputs.grammar must be a string", param: param) }
            found.append(.grammar(s))
        }
        if let flag = fields["json_object"], flag != .null {
            guard let b = flag.bool else { throw .invalid("structured_outputs.json_object must be a boolean", param: param) }
            if b { found.append(.jsonObject(whitespacePattern: pattern)) }
        }
        guard found.count <= 1 else {
            throw .invalid("You can only use one kind of structured outputs constraint but multiple are specified: \(fields.keys.filter { ["json", "regex", "choice", "grammar", "json_object"].contains($0) })", param: param)
        }
        guard let constraint = found.first else {
            throw .invalid("You must use one kind of structured outputs constraint but none are specified", param: param)
        }
        return (constraint, pattern)
    }

    /// `response_format`: `text` (no constraint), `json_object`, or `json_schema` with `{name, description, schema, strict}`.
    private static func responseFormat(_ format: JSONObject, whitespacePattern: String?) throws(APIError) -> StructuredOutputs? {
        let param = "response_format"
        guard let type = format["type"]?.string else { throw .invalid("response_format must be an object with a 'type'", param: param) }
        switch type {
        case "text": return nil
        case "json_object": return .jsonObject(whitespacePattern: whitespacePattern)
        case "json_schema":
            guard let spec = format["json_schema"]?.object else {
                throw .invalid("response_format of type 'json_schema' needs a 'json_schema' object", param: param)
            }
            guard spec["name"]?.string != nil else { throw .invalid("response_format.json_schema.name is required", param: param) }
            if let strict = spec["strict"], strict != .null, strict.bool == nil {
                throw .invalid("response_format.json_schema.strict must be a boolean", param: param)
            }
            // OpenAI's schema field is `schema`; vLLM also reads `json_schema` (its Python attribute name).
            guard let schema = spec["schema"] ?? spec["json_schema"] else {
                throw .invalid("response_format.json_schema.schema is required", param: param)
            }
            return .json(schema: try Self.schema(schema, param: param), whitespacePattern: whitespacePattern)
        default:
            throw .invalid("response_format type must be one of 'text', 'json_object', 'json_schema', got '\(type)'", param: param)
        }
    }

    /// A schema given as an object (or a boolean), or as a string of JSON (vLLM's `json: str | dict`).
    private static func schema(_ value: JSONValue, param: String) throws(APIError) -> JSONValue {
        switch value {
        case .object, .bool: return value
        case .string(let text):
            do { return try JSONParser.parse(Data(text.utf8)) } catch {
                throw .invalid("the JSON schema is not valid JSON: \(error)", param: param)
            }
        default: throw .invalid("a JSON schema must be an object, got \(value.typeName)", param: param)
        }
    }
}
