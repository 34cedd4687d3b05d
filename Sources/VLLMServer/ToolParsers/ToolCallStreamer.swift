import VLLMJSON

/// Streams one choice's tool calls in OpenAI's chunk shape, as vLLM's streaming parsers do: content before the
/// calls as `content` deltas, then per call a first entry with `index`, `id`, `type: function` and `function.name`,
/// then `function.arguments` in pieces. At each delta it re-reads the whole text with the parser's `partial(_:)`
/// and sends only what is new (the approach of vLLM's hermes parser).
struct ToolCallStreamer {
    let parser: any ToolParser
    /// Content bytes already sent.
    private var sentContent = 0
    /// Arguments text already sent, one entry per call whose name was sent.
    private var sentArguments: [String] = []

    init(parser: any ToolParser) { self.parser = parser }

    /// Whether any call was sent.
    var calledTools: Bool { !sentArguments.isEmpty }

    /// What is new in `text` (the whole output so far): content, and `delta.tool_calls` entries.
    mutating func feed(_ text: String) -> (content: String?, toolCalls: [JSONValue]) {
        let state = parser.partial(text)
        var content: String?
        if state.contentLength > sentContent {
            content = TextScan.text(Array(text.utf8)[sentContent..<state.contentLength])
            sentContent = state.contentLength
        }
        var entries: [JSONValue] = []
        for (i, call) in state.calls.enumerated() {
            if i == sentArguments.count {
                guard let name = call.name else { break }
                entries.append(Self.opening(index: i, id: parser.newCallID(), name: name))
                sentArguments.append("")
            }
            if let arguments = call.arguments, let piece = newPiece(i, arguments) {
                entries.append(Self.arguments(index: i, piece))
            }
        }
        return (content, entries)
    }

    /// The end of the output: calls the partial reading could not finish come from the complete parse (vLLM's last
    /// chunk sends the arguments still missing); with no calls at all, content held back is sent.
    mutating func finish(_ text: String) -> (content: String?, toolCalls: [JSONValue]) {
        var (content, entries) = feed(text)
        let final = parser.extract(text)
        if final.calls.isEmpty && sentArguments.isEmpty {
            let bytes = Array(text.utf8)
            if bytes.count > sentContent {
                content = (content ?? "") + TextScan.text(bytes[sentContent...])
                sentContent = bytes.count
            }
            return (content, entries)
        }
        for (i, call) in final.calls.enumerated() {
            if i == sentArguments.count {
                entries.append(Self.opening(index: i, id: parser.newCallID(), name: call.name))
                sentArguments.append("")
            }
            if i < sentArguments.count, let piece = newPiece(i, call.arguments) { entries.append(Self.arguments(index: i, piece)) }
        }
        return (content, entries)
    }

    /// The part of `arguments` not sent yet, when it extends what was sent.
    private mutating func newPiece(_ i: Int, _ arguments: String) -> String? {
        let sent = sentArguments[i]
        guard arguments.utf8.count > sent.utf8.count, arguments.utf8.starts(with: sent.utf8) else { return nil }
        sentArguments[i] = arguments
        return TextScan.text(Array(arguments.utf8)[sent.utf8.count...])
    }

    static func opening(index: Int, id: String, name: String) -> JSONValue {
        .object(["index": .number(Double(index)), "id": .string(id), "type": .string("function"),
                 "function": .object(["name": .string(name)])])
    }

    static func arguments(index: Int, _ piece: String) -> JSONValue {
        .object(["index": .number(Double(index)), "function": .object(["arguments": .string(piece)])])
    }
}
