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
        let message: JSONObject = ["role": .string("assistant"), "content": content.map(JSONValue.string) ?? .null,
                                   "reasoning": reasoningText.map(JSONValue.string) ?? .null, "tool_calls": .array(calls)]
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

/// One streamed choice: text deltas in, `delta` objects out (`reasoning`, `content`, `tool_calls`), each field
/// only when it has something new.
struct ChatDeltaStream {
    let reader: ChatOutputReader
    private var text = ""
    private var sentReasoning: [UInt8] = []
    private var sentContent: [UInt8] = []
    private var tools: ToolCallStreamer?

    init(reader: ChatOutputReader) {
        self.reader = reader
        tools = reader.toolParser.map { ToolCallStreamer(parser: $0) }
    }

    /// Whether a call was streamed.
    var calledTools: Bool { tools?.calledTools ?? false }

    mutating func feed(_ delta: String) -> JSONObject {
        text += delta
        guard reader.parsesOutput else { return delta.isEmpty ? [:] : ["content": .string(delta)] }
        var reasoning: String?, content = text
        if let parser = reader.reasoning {
            let split = parser.partial(text, thinkingEnabled: reader.thinkingEnabled)
            reasoning = split.reasoning
            content = split.content
        }
        return emit(reasoning: reasoning, content: content, final: false)
    }

    /// The last delta, once the output is complete: what parsing held back.
    mutating func finish() -> JSONObject {
        guard reader.parsesOutput else { return [:] }
        var reasoning: String?, content = text
        if let parser = reader.reasoning {
            let split = parser.extract(text, thinkingEnabled: reader.thinkingEnabled)
            reasoning = split.reasoning ?? ""
            content = split.content ?? ""
        }
        return emit(reasoning: reasoning, content: content, final: true)
    }

    private mutating func emit(reasoning: String?, content: String, final: Bool) -> JSONObject {
        var delta = JSONObject()
        if let reasoning, let piece = Self.newText(&sentReasoning, reasoning), reader.includeReasoning {
            delta["reasoning"] = .string(piece)
        }
        if var tools {
            let (piece, calls) = final ? tools.finish(content) : tools.feed(content)
            self.tools = tools
            if let piece, !piece.isEmpty { delta["content"] = .string(piece) }
            let kept = reader.parallelToolCalls ? calls : calls.filter { $0.object?["index"] == .number(0) }
            if !kept.isEmpty { delta["tool_calls"] = .array(kept) }
        } else if let piece = Self.newText(&sentContent, content) {
            delta["content"] = .string(piece)
        }
        return delta
    }

    /// What `now` adds to the text already sent: the part after their common prefix (cut at a character), when
    /// `now` is longer. A reading that changed its mind (`\n<think>` turning out to open the reasoning) so sends
    /// the new text after what was sent, as vLLM's token-wise streaming does.
    static func newText(_ sent: inout [UInt8], _ now: String) -> String? {
        let bytes = Array(now.utf8)
        var common = 0
        while common < min(sent.count, bytes.count), sent[common] == bytes[common] { common += 1 }
        while common > 0, common < bytes.count, bytes[common] & 0xC0 == 0x80 { common -= 1 }
        guard bytes.count > common, bytes.count > sent.count || common < sent.count else { return nil }
        sent = bytes
        return TextScan.text(bytes[common...])
    }
}
