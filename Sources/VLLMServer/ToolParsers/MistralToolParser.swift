import Foundation
import VLLMJSON

/// vLLM's `mistral` parser with a Hugging Face tokenizer. Content is the text before `[TOOL_CALLS]`; after it come
/// the calls, in one of two formats:
/// - tokenizers before v11 (no `[ARGS]` token): one JSON array `[{"name": ..., "arguments": {...}}, ...]`;
/// - v11 and later: `[TOOL_CALLS]name{args}` for each call, the arguments kept as written.
/// Call ids are 9 letters and digits, as Mistral's templates require. Ported from
/// vllm/tool_parsers/mistral_tool_parser.py.
public struct MistralToolParser: ToolParser {
    static let botToken = Array("[TOOL_CALLS]".utf8)
    /// Whether calls are written `name{args}` (v11+ tokenizers) rather than as a JSON array.
    let argsFormat: Bool

    public init(argsFormat: Bool = false) { self.argsFormat = argsFormat }

    public func newCallID() -> String { ToolCallID.mistral() }

    public var needsSpecialTokens: Bool { true }

    public func extract(_ output: String) -> ToolCallExtraction {
        let bytes = Array(output.utf8)
        let segments = Self.segments(bytes)
        guard segments.count > 1 else { return .text(output) }
        let content = TextScan.text(segments[0])
        var calls: [ParsedToolCall] = []
        if argsFormat {
            for raw in segments.dropFirst() {
                guard let brace = raw.firstIndex(of: UInt8(ascii: "{")) else { continue }
                let name = TextScan.text(raw[..<brace]).replacingOccurrences(of: "[ARGS]", with: "")
                calls.append(ParsedToolCall(name: name, arguments: TextScan.text(raw[brace...])))
            }
        } else {
            // vLLM raises on a second [TOOL_CALLS]; the output stays content here.
            guard segments.count == 2 else { return .text(output) }
            let trimmed = Array(TextScan.text(segments[1]).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
            var parsed = TextScan.jsonPrefix(trimmed, from: 0)?.0
            if parsed == nil, let open = TextScan.find(trimmed, Array("[{".utf8)),
               let close = Self.lastIndex(of: Array("}]".utf8), in: trimmed), close > open {
                // The fallback regex `\[{.*}\]`: from the first `[{` to the last `}]`.
                parsed = TextScan.json(trimmed[open..<(close + 2)])
            }
            guard let array = parsed?.array else { return ToolCallExtraction(calls: [], content: TextScan.text(trimmed[...])) }
            for element in array {
                guard let object = element.object, let name = object["name"]?.string else { return .text(output) }
                calls.append(ParsedToolCall(name: name, arguments: (object["arguments"] ?? .object([:])).serialized()))
            }
        }
        return ToolCallExtraction(calls: calls, content: content.isEmpty ? nil : content)
    }

    public func partial(_ text: String) -> PartialToolCalls {
        let bytes = Array(text.utf8)
        guard let bot = TextScan.find(bytes, Self.botToken) else {
            return PartialToolCalls(contentLength: bytes.count - TextScan.partialOverlap(bytes, Self.botToken), calls: [])
        }
        guard argsFormat else {
            return PartialToolCalls(contentLength: bot, calls: TextScan.partialArrayCalls(bytes, from: bot + Self.botToken.count, argumentsKey: "arguments"))
        }
        var calls: [PartialToolCalls.Call] = []
        for raw in Self.segments(bytes).dropFirst() {
            guard let brace = raw.firstIndex(of: UInt8(ascii: "{")) else { break }
            let name = TextScan.text(raw[..<brace]).replacingOccurrences(of: "[ARGS]", with: "")
            var arguments = Array(raw[brace...])
            arguments.removeLast(TextScan.partialOverlap(arguments, Self.botToken))
            calls.append(.init(name: name, arguments: TextScan.text(arguments[...])))
        }
        return PartialToolCalls(contentLength: bot, calls: calls)
    }

    /// `output.split("[TOOL_CALLS]")`.
    static func segments(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var position = 0
        while let at = TextScan.find(bytes, botToken, from: position) {
            out.append(bytes[position..<at])
            position = at + botToken.count
        }
        out.append(bytes[position...])
        return out
    }

    static func lastIndex(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
        var found: Int?
        var from = 0
        while let at = TextScan.find(bytes, needle, from: from) { found = at; from = at + 1 }
        return found
    }
}
