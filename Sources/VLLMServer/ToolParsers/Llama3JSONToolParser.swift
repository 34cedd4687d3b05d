import VLLMJSON

/// vLLM's `llama3_json` parser (Llama 3.1-3.3 with vLLM's JSON tool template): calls are JSON objects with `name`
/// and `arguments` (or `parameters`), separated by `;`, optionally after `<|python_tag|>`. Objects that are not
/// calls are skipped; with no call the whole output is content, with calls there is no content.
/// Ported from vllm/tool_parsers/llama_tool_parser.py.
public struct Llama3JSONToolParser: ToolParser {
    static let pythonTag = Array("<|python_tag|>".utf8)

    public init() {}

    public func extract(_ output: String) -> ToolCallExtraction {
        let bytes = Array(output.utf8)
        guard TextScan.find(bytes, Self.pythonTag) != nil || bytes.contains(UInt8(ascii: "{")) else { return .text(output) }
        var calls: [ParsedToolCall] = []
        var endIndex = -1
        for start in bytes.indices where bytes[start] == UInt8(ascii: "{") {
            if start <= endIndex { continue }
            // An object that is not a call (prose quoting braces, the model echoing its arguments) is skipped.
            guard let (value, end) = TextScan.jsonPrefix(bytes, from: start), let object = value.object,
                  let name = object["name"]?.string, let arguments = object["arguments"] ?? object["parameters"] else {
                continue
            }
            endIndex = end
            calls.append(ParsedToolCall(name: name, arguments: arguments.serialized()))
        }
        return calls.isEmpty ? .text(output) : ToolCallExtraction(calls: calls, content: nil)
    }

    /// Output that does not start with `<|python_tag|>` or `{` streams as content (vLLM decides on the first
    /// delta); otherwise each object's name once complete, then its arguments member by member.
    public func partial(_ text: String) -> PartialToolCalls {
        let bytes = Array(text.utf8)
        let tagged = bytes.starts(with: Self.pythonTag)
        // `<|python_tag|>` is one token in Llama's vocabulary; arriving in pieces, it is held back until whole.
        if !tagged, !bytes.isEmpty, Self.pythonTag.starts(with: bytes) { return PartialToolCalls(contentLength: 0, calls: []) }
        guard tagged || bytes.first == UInt8(ascii: "{") else {
            return PartialToolCalls(contentLength: bytes.count, calls: [])
        }
        var calls: [PartialToolCalls.Call] = []
        var i = tagged ? Self.pythonTag.count : 0
        while true {
            while i < bytes.count, TextScan.isSpace(bytes[i]) || bytes[i] == UInt8(ascii: ";") { i += 1 }
            guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { break }
            guard let end = TextScan.balancedEnd(bytes, from: i) else {
                let start = TextScan.valueStart(bytes, key: "arguments", from: i) ?? TextScan.valueStart(bytes, key: "parameters", from: i)
                calls.append(.init(name: TextScan.stringField(bytes[i...], "name"), arguments: start.flatMap { TextScan.stableObjectPrefix(bytes, from: $0) }))
                break
            }
            guard let object = TextScan.json(bytes[i..<end])?.object, let name = object["name"]?.string else { break }
            calls.append(.init(name: name, arguments: (object["arguments"] ?? object["parameters"])?.serialized()))
            i = end
        }
        return PartialToolCalls(contentLength: 0, calls: calls)
    }
}
