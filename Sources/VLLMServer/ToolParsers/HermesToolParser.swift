import VLLMJSON

/// vLLM's `hermes` parser (Hermes 2 Pro, Qwen2.5, Qwen3): calls are `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`
/// blocks (the last one may be unclosed); the content is the text before the first. Any block that is not such a
/// JSON object makes the whole output content. Ported from vllm/tool_parsers/hermes_tool_parser.py.
public struct HermesToolParser: ToolParser {
    static let start = Array("<tool_call>".utf8)
    static let end = Array("</tool_call>".utf8)

    public init() {}

    public var needsSpecialTokens: Bool { true }

    public func extract(_ output: String) -> ToolCallExtraction {
        let bytes = Array(output.utf8)
        guard let first = TextScan.find(bytes, Self.start) else { return .text(output) }
        var calls: [ParsedToolCall] = []
        for body in Self.blocks(bytes) {
            // json.loads(...) then ["name"] and ["arguments"]: a missing key fails the whole output.
            guard let object = TextScan.json(body.json)?.object, let name = object["name"]?.string,
                  let arguments = object["arguments"] else { return .text(output) }
            calls.append(ParsedToolCall(name: name, arguments: arguments.serialized()))
        }
        let content = TextScan.text(bytes[..<first])
        return ToolCallExtraction(calls: calls, content: content.isEmpty ? nil : content)
    }

    public func partial(_ text: String) -> PartialToolCalls {
        let bytes = Array(text.utf8)
        let contentLength = TextScan.find(bytes, Self.start) ?? bytes.count - TextScan.partialOverlap(bytes, Self.start)
        var calls: [PartialToolCalls.Call] = []
        for block in Self.blocks(bytes, streaming: true) {
            var json = block.json
            if !block.closed { json = json.dropLast(TextScan.partialOverlap(Array(json), Self.end)) }
            guard let name = TextScan.stringField(json, "name") else { break }
            calls.append(.init(name: name, arguments: Self.arguments(Array(json))))
        }
        return PartialToolCalls(contentLength: contentLength, calls: calls)
    }

    /// The text of each `<tool_call>` block: up to its `</tool_call>`, or to the end for an unclosed last block
    /// (the regex `<tool_call>(.*?)</tool_call>|<tool_call>(.*)`).
    static func blocks(_ bytes: [UInt8], streaming: Bool = false) -> [(json: ArraySlice<UInt8>, closed: Bool)] {
        var out: [(ArraySlice<UInt8>, Bool)] = []
        var position = 0
        while let s = TextScan.find(bytes, start, from: position) {
            let bodyStart = s + start.count
            if let e = TextScan.find(bytes, end, from: bodyStart) {
                out.append((bytes[bodyStart..<e], true))
                position = e + end.count
            } else {
                out.append((bytes[bodyStart...], false))
                break
            }
        }
        return out
    }

    /// The `"arguments"` value's text as far as it goes, cut at its closing bracket (vLLM's `_extract_tool_args`:
    /// brace matching outside strings, so text after the object never leaks in).
    static func arguments(_ json: [UInt8]) -> String? {
        let key = Array("\"arguments\"".utf8)
        guard let at = TextScan.find(json, key) else { return nil }
        var i = TextScan.skipSpaces(json, at + key.count)
        guard i < json.count, json[i] == UInt8(ascii: ":") else { return nil }
        i = TextScan.skipSpaces(json, i + 1)
        guard i < json.count else { return nil }
        guard json[i] == UInt8(ascii: "{") || json[i] == UInt8(ascii: "[") else {
            // A scalar (rare): whatever is there, without the object's closing brace once complete.
            var raw = Array(json[i...])
            while let last = raw.last, TextScan.isSpace(last) { raw.removeLast() }
            if raw.last == UInt8(ascii: "}") { raw.removeLast() }
            while let last = raw.last, TextScan.isSpace(last) { raw.removeLast() }
            return raw.isEmpty ? nil : TextScan.text(raw[...])
        }
        let end = TextScan.balancedEnd(json, from: i) ?? json.count
        return TextScan.text(json[i..<end])
    }
}
