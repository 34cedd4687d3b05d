import VLLMJSON

/// How one chat choice's generated text becomes the answer, as vLLM's chat serving does: the reasoning parser
/// first splits off the thinking (`reasoning`), then the tool parser reads calls out of the rest (`tool_calls`,
/// with `finish_reason: "tool_calls"`). `message(_:finishReason:)` is the whole answer; `ChatDeltaStream` the
/// streamed one.
struct ChatOutputReader: Sendable {
    var reasoning: ReasoningParser?
    /// `include_reasoning: false`: thinking is still split off, but not returned.
    var includeReasoning = true
    /// `chat_template_kwargs.enable_thinking` (true unless the client turned it off).
    var thinkingEnabled = true
    var toolChoice: ToolChoice = .none
    /// The parser for `toolChoice` (the server's for `auto`), nil when the output is plain text.
    var toolParser: (any ToolParser)?
    /// `parallel_tool_calls: false`: at most the first call is returned.
    var parallelToolCalls = true

    /// The `message` object and finish reason of a complete choice.
    func message(_ text: String, finishReason: String) -> (message: JSONValue, finishReason: String) {
        var reasoningText: String?
        var content: String? = text
        if let reasoning { (reasoningText, content) = reasoning.extract(text, thinkingEnabled: thinkingEnabled) }
        if !includeReasoning { reasoningText = nil }
        var calls: [JSONValue] = []
        if let toolParser, let text = content {
            let extraction = toolParser.extract(text)
            if !extraction.calls.isEmpty {
                calls = extraction.calls.map { Self.toolCall($0, id: toolParser.newCallID()) }
                // vLLM: `content or ""` for required and named choices; the parser's content for auto.
                content = toolChoice == .auto ? extraction.content : (extraction.content ?? "")
            }
        }
        if !parallelToolCalls { calls = Array(calls.prefix(1)) }
        let reason = toolChoice.finishesWithToolCalls(called: !calls.isEmpty, finishReason: finishReason) ? "tool_calls" : finishReason
        // vLLM's ChatMessage: OpenAI's fields, then its own `reasoning` (older vLLM releases named it `reasoning_content`).
        let message: JSONObject = ["role": .string("assistant"), "content": content.map(JSONValue.string) ?? .null,
                                   "tool_calls": .array(calls), "reasoning": reasoningText.map(JSONValue.string) ?? .null]
        return (.object(message), reason)
    }

    /// `{"id", "type": "function", "function": {"name", "arguments"}}`.
    static func toolCall(_ call: ParsedToolCall, id: String) -> JSONValue {
        .object(["id": .string(id), "type": .string("function"),
                 "function": .object(["name": .string(call.name), "arguments": .string(call.arguments)])])
    }

    /// Whether streamed text must go through `ChatDeltaStream` (otherwise deltas pass through as content).
    var parsesOutput: Bool { reasoning != nil || toolParser != nil }
}
