import VLLMJSON

/// vLLM's `pythonic` parser (Llama 3.2/4, ToolACE): the whole output is a Python list of calls with literal
/// keyword arguments, `[get_weather(city="Paris", days=2), ...]`; anything else is content. With calls there is no
/// content. Ported from vllm/tool_parsers/pythonic_tool_parser.py (its `ast.parse` reading, not its code).
public struct PythonicToolParser: ToolParser {
    public init() {}

    public func extract(_ output: String) -> ToolCallExtraction {
        let bytes = Array(output.utf8)
        // vLLM's pattern must match at the start: `[` then a call's name and `(`.
        guard bytes.first == UInt8(ascii: "[") else { return .text(output) }
        if let calls = try? PythonCallReader.callList(bytes) { return ToolCallExtraction(calls: calls, content: nil) }
        // A call that does not parse (a bytes literal, 1e999, a broken quote) is dropped and its siblings kept.
        let calls = Self.salvage(bytes)
        return calls.isEmpty ? .text(output) : ToolCallExtraction(calls: calls, content: nil)
    }

    /// The calls of the list that parse on their own, each cut at its closing parenthesis.
    static func salvage(_ bytes: [UInt8]) -> [ParsedToolCall] {
        var calls: [ParsedToolCall] = []
        var reader = PythonCallReader(bytes, at: 1)
        while true {
            reader.skipSpaces()
            let start = reader.index
            guard (try? reader.identifier()) != nil, reader.peek() == UInt8(ascii: "("),
                  let end = TextScan.balancedEnd(bytes, from: reader.index, quotes: [UInt8(ascii: "\""), UInt8(ascii: "'")]) else { break }
            var call = PythonCallReader(Array(bytes[..<end]), at: start)
            if let parsed = try? call.call(), call.index == end { calls.append(parsed) }
            reader.index = end
            reader.skipSpaces()
            guard reader.peek() == UInt8(ascii: ",") else { break }
            reader.index += 1
        }
        return calls
    }

    /// Output that does not start with `[` streams as content; otherwise each call's name once its `(` is there,
    /// its arguments once its `)` is.
    public func partial(_ text: String) -> PartialToolCalls {
        let bytes = Array(text.utf8)
        guard bytes.first == UInt8(ascii: "[") else { return PartialToolCalls(contentLength: bytes.count, calls: []) }
        var calls: [PartialToolCalls.Call] = []
        var reader = PythonCallReader(bytes, at: 1)
        while true {
            reader.skipSpaces()
            let start = reader.index
            guard let name = try? reader.identifier(), reader.peek() == UInt8(ascii: "(") else { break }
            guard let end = TextScan.balancedEnd(bytes, from: reader.index, quotes: [UInt8(ascii: "\""), UInt8(ascii: "'")]) else {
                calls.append(.init(name: name, arguments: nil))
                break
            }
            var call = PythonCallReader(bytes, at: start)
            guard let parsed = try? call.call(), call.index == end else { break }
            calls.append(.init(name: parsed.name, arguments: parsed.arguments))
            reader.index = end
            reader.skipSpaces()
            guard reader.peek() == UInt8(ascii: ",") else { break }
            reader.index += 1
        }
        return PartialToolCalls(contentLength: 0, calls: calls)
    }
}
