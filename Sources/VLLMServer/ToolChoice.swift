import VLLMGrammar
import VLLMJSON

/// A chat request's `tool_choice` checked against its `tools` as vLLM's `ChatCompletionRequest.check_tool_usage`
/// and serving layer do, and what it means for generation: the parser that reads the output, and for `required`
/// and a named tool the JSON schema that constrains it (vLLM's `_get_json_schema_from_tool`).
enum ToolChoice: Equatable {
    /// No tools, or `tool_choice: "none"`: the output is text (tools still reach the template, as in vLLM).
    case none
    /// The model decides; the server's `--tool-call-parser` reads the output.
    case auto
    /// At least one call, the output constrained to a JSON array of calls.
    case required
    /// One call to the named function, the output constrained to its parameters.
    case named(String)

    /// Reads `tool_choice`; absent with a non-empty `tools` it is `auto`, as in vLLM.
    static func from(_ fields: RequestFields, tools: [JSONValue]?) throws(APIError) -> ToolChoice {
        let usage = "Correct usage: `{\"type\": \"function\", \"function\": {\"name\": \"my_function\"}}`"
        guard let choice = fields["tool_choice"] else { return tools?.isEmpty == false ? .auto : .none }
        if choice == .string("none") { return .none }
        guard let tools else { throw .invalid("When using `tool_choice`, `tools` must be set.", param: "tool_choice") }
        switch choice {
        case .string("auto"): return .auto
        case .string("required"): return tools.isEmpty ? .none : .required
        case .object(let object):
            guard let function = object["function"]?.object else {
                throw .invalid("Invalid value for `function`: `\(object["function"]?.serialized() ?? "None")` in `tool_choice`! \(usage)", param: "tool_choice")
            }
            guard let name = function["name"] else {
                throw .invalid("Expected field `name` in `function` in `tool_choice`! \(usage)", param: "tool_choice")
            }
            guard let name = name.string, !name.isEmpty else {
                throw .invalid("Invalid `name` in `function`: `\(name.serialized())` in `tool_choice`! \(usage)", param: "tool_choice")
            }
            guard tools.contains(where: { $0.object?["function"]?.object?["name"]?.string == name }) else {
                throw .invalid("The tool specified in `tool_choice` does not match any of the specified `tools`", param: "tool_choice")
            }
            return .named(name)
        default:
            throw .invalid("Invalid value for `tool_choice`: \(choice.serialized())! Only named tools, \"none\", \"auto\" or \"required\" are supported.",
                           param: "tool_choice")
        }
    }

    /// The schema that constrains the output, nil for `none` and `auto`.
    func schema(tools: [JSONValue]) throws(APIError) -> JSONValue? {
        switch self {
        case .none, .auto:
            return nil
        case .named(let name):
            let tool = tools.first { $0.object?["function"]?.object?["name"]?.string == name }
            return tool?.object?["function"]?.object?["parameters"] ?? .object(["type": .string("object"), "properties": .object([:])])
        case .required:
            var definitions = JSONObject()
            var alternatives: [JSONValue] = []
            for tool in tools {
                let function = tool.object?["function"]?.object ?? [:]
                var parameters = function["parameters"]?.object ?? ["type": .string("object"), "properties": .object([:])]
                if parameters.isEmpty { parameters = ["type": .string("object"), "properties": .object([:])] }
                // $defs move to the array's top level; one name with two different schemas is refused.
                if let defs = parameters.removeValue(forKey: "$defs")?.object {
                    for (name, schema) in defs {
                        if let seen = definitions[name], seen != schema {
                            throw .invalid("Tool definition '\(name)' has multiple schemas, which is not supported.", param: "tools")
                        }
                        definitions[name] = schema
                    }
                }
                alternatives.append(.object([
                    "properties": .object([
                        "name": .object(["type": .string("string"), "enum": .array([function["name"] ?? .null])]),
                        "parameters": .object(parameters),
                    ]),
                    "required": .array([.string("name"), .string("parameters")]),
                ]))
            }
            var schema: JSONObject = ["type": .string("array"), "minItems": .number(1),
                                      "items": .object(["type": .string("object"), "anyOf": .array(alternatives)])]
            if !definitions.isEmpty { schema["$defs"] = .object(definitions) }
            return .object(schema)
        }
    }

    /// The structured-output constraint for the sampling parameters.
    func structuredOutputs(tools: [JSONValue]) throws(APIError) -> StructuredOutputs? {
        try schema(tools: tools).map { .json(schema: $0, whitespacePattern: nil) }
    }

    /// The parser that reads the output, nil when the output is plain text.
    func parser(auto: (any ToolParser)?) -> (any ToolParser)? {
        switch self {
        case .none: nil
        case .auto: auto
        case .required: RequiredToolParser()
        case .named(let name): NamedToolParser(name: name)
        }
    }

    /// Whether the answer's finish reason becomes `tool_calls` (vLLM: calls made under `auto`, or `required`
    /// with a normal stop; a named tool keeps the output's reason, as OpenAI does).
    func finishesWithToolCalls(called: Bool, finishReason: String) -> Bool {
        switch self {
        case .auto: called
        case .required: finishReason == "stop"
        case .none, .named: false
        }
    }
}
