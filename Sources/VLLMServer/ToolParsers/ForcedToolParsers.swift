import VLLMJSON

/// `tool_choice: "required"`: the output, constrained by `ToolChoice.schema`, is a JSON array of
/// `{"name": ..., "parameters": {...}}`; each element is a call whose arguments are `json.dumps(parameters)`.
/// Output that is not such an array (cut short by max_tokens) stays content.
struct RequiredToolParser: ToolParser {
    func extract(_ output: String) -> ToolCallExtraction {
        guard let array = TextScan.json(Array(output.utf8)[...])?.array else { return .text(output) }
        var calls: [ParsedToolCall] = []
        for element in array {
            guard let object = element.object, let name = object["name"]?.string else { return .text(output) }
            calls.append(ParsedToolCall(name: name, arguments: (object["parameters"] ?? .object([:])).serialized()))
        }
        return ToolCallExtraction(calls: calls, content: nil)
    }

    func partial(_ text: String) -> PartialToolCalls {
        PartialToolCalls(contentLength: 0, calls: TextScan.partialArrayCalls(Array(text.utf8), from: 0, argumentsKey: "parameters"))
    }
}

/// A named `tool_choice`: the whole output, constrained to the tool's parameters schema, is the arguments of one
/// call to that tool (vLLM streams it as the arguments as they come).
struct NamedToolParser: ToolParser {
    let name: String

    func extract(_ output: String) -> ToolCallExtraction {
        ToolCallExtraction(calls: [ParsedToolCall(name: name, arguments: output)], content: nil)
    }

    func partial(_ text: String) -> PartialToolCalls {
        PartialToolCalls(contentLength: 0, calls: [.init(name: name, arguments: text)])
    }
}
