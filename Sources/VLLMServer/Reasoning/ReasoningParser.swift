/// vLLM's `<think>...</think>` reasoning parsers (`--reasoning-parser`), which move a model's thinking out of the
/// answer's `content` into `reasoning`. Ported from vllm/reasoning/deepseek_r1_reasoning_parser.py,
/// basic_parsers.py and qwen3_reasoning_parser.py.
/// - `deepseek_r1`: the template may put `<think>` in the prompt, so everything before `</think>` is reasoning
///   (a `<think>` in the output is dropped); with no `</think>` the whole output is reasoning.
/// - `qwen3`: the same, except that with `chat_template_kwargs.enable_thinking: false` an output without
///   `</think>` is all content, and that a `<tool_call>` followed by `<function` ends the reasoning (Qwen3.5).
public struct ReasoningParser: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case deepseekR1 = "deepseek_r1"
        case qwen3
    }

    public let kind: Kind

    public init(kind: Kind) { self.kind = kind }

    /// The parser named `name` (`--reasoning-parser`), or nil.
    public init?(name: String) {
        guard let kind = Kind(rawValue: name) else { return nil }
        self.kind = kind
    }

    public static var names: [String] { Kind.allCases.map(\.rawValue) }

    static let start = "<think>"
    static let end = "</think>"
    static let toolCall = "<tool_call>"

    /// Reasoning and content of a complete output; each nil when empty, as vLLM returns them (reasoning is
    /// `""` rather than nil when `</think>` opens the output, as vLLM's `partition` gives it).
    public func extract(_ output: String, thinkingEnabled: Bool = true) -> (reasoning: String?, content: String?) {
        var text = Substring(output)
        if let start = text.range(of: Self.start) { text = text[start.upperBound...] }
        if let end = text.range(of: Self.end) {
            let content = text[end.upperBound...]
            return (String(text[..<end.lowerBound]), content.isEmpty ? nil : String(content))
        }
        guard kind == .qwen3 else { return (String(text), nil) }
        if !thinkingEnabled { return (nil, String(text)) }
        if let call = text.range(of: Self.toolCall), Self.opensFunction(text[call.upperBound...]) == true {
            let reasoning = text[..<call.lowerBound], content = text[call.lowerBound...]
            return (reasoning.isEmpty ? nil : String(reasoning), content.isEmpty ? nil : String(content))
        }
        return (String(text), nil)
    }

    /// Whether the text after a `<tool_call>` opens a `<function` tag: true, false, or nil while it may still.
    static func opensFunction(_ after: Substring) -> Bool? {
        let trimmed = after.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        if trimmed.hasPrefix("<function") {
            guard let next = trimmed.dropFirst("<function".count).first else { return nil }
            return next == "=" || next == " " || next == "\n" || next == "\t"
        }
        return "<function".hasPrefix(trimmed) ? nil : false
    }

    /// The output read so far, for streaming: the reasoning and content that are certain (text that may still
    /// become a tag is held back), each only ever growing as more text comes.
    func partial(_ text: String, thinkingEnabled: Bool) -> (reasoning: String, content: String) {
        var safe = Substring(text)
        if !safe.contains(Self.end) {
            safe = safe.dropLast([Self.end, Self.start].map { TextScan.partialOverlap(Array(safe.utf8), Array($0.utf8)) }.max() ?? 0)
            // Until `<think>` is ruled out at the start, nothing is certain (vLLM drops it and what precedes it).
            if !safe.contains(Self.start), Self.start.hasPrefix(safe) { safe = "" }
            if kind == .qwen3, thinkingEnabled, let call = safe.range(of: Self.toolCall),
               Self.opensFunction(safe[call.upperBound...]) == nil {
                safe = safe[..<call.lowerBound]
            } else if kind == .qwen3, thinkingEnabled {
                let overlap = TextScan.partialOverlap(Array(safe.utf8), Array(Self.toolCall.utf8))
                safe = safe.dropLast(overlap)
            }
        }
        let (reasoning, content) = extract(String(safe), thinkingEnabled: thinkingEnabled)
        return (reasoning ?? "", content ?? "")
    }
}
