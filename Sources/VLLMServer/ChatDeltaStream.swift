import VLLMJSON

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

    /// Two deltas' values for one field, as one delta: text and tool-call entries concatenated.
    static func joined(_ first: JSONValue, _ second: JSONValue) -> JSONValue {
        switch (first, second) {
        case let (.string(a), .string(b)): .string(a + b)
        case let (.array(a), .array(b)): .array(a + b)
        default: second
        }
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
