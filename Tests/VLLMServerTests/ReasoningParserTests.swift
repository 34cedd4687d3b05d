import Testing
import VLLMJSON
@testable import VLLMServer

/// The reasoning parsers against vLLM's test cases (tests/reasoning/test_deepseekr1_reasoning_parser.py and
/// test_qwen3_reasoning_parser.py: outputs and expected values are theirs), complete and streamed.
struct ReasoningParserTests {
    /// Streams `deltas` through `ChatDeltaStream` and joins the `reasoning` and `content` deltas (nil when none came).
    static func streamed(_ kind: ReasoningParser.Kind, _ deltas: [String], thinkingEnabled: Bool = true) -> (String?, String?) {
        var reader = ChatOutputReader()
        reader.reasoning = ReasoningParser(kind: kind)
        reader.thinkingEnabled = thinkingEnabled
        var stream = ChatDeltaStream(reader: reader)
        var reasoning: String?, content: String?
        for delta in deltas.map({ stream.feed($0) }) + [stream.finish()] {
            if let r = delta["reasoning"]?.string { reasoning = (reasoning ?? "") + r }
            if let c = delta["content"]?.string { content = (content ?? "") + c }
        }
        return (reasoning, content)
    }

    /// Deltas of a few characters, as tokens would come.
    static func chunks(_ text: String, _ size: Int) -> [String] {
        let characters = Array(text)
        return stride(from: 0, to: characters.count, by: size).map { String(characters[$0..<min($0 + size, characters.count)]) }
    }

    static let deepseekCases: [(output: String, reasoning: String?, content: String?, streamedReasoning: String?)] = [
        ("This is a reasoning section</think>This is the rest", "This is a reasoning section", "This is the rest", "This is a reasoning section"),
        ("This is a reasoning section</think>", "This is a reasoning section", nil, "This is a reasoning section"),
        ("This is content", "This is content", nil, "This is content"),
        ("This\nThat</think>This is the rest\nThat", "This\nThat", "This is the rest\nThat", "This\nThat"),
        ("</think>This is the rest", "", "This is the rest", nil),
        ("<think>This is a reasoning section</think>This is the rest", "This is a reasoning section", "This is the rest", "This is a reasoning section"),
        ("<think>This is a reasoning section</think>", "This is a reasoning section", nil, "This is a reasoning section"),
        ("<think>This\nThat</think>This is the rest\nThat", "This\nThat", "This is the rest\nThat", "This\nThat"),
        ("<think>This is a reasoning section", "This is a reasoning section", nil, "This is a reasoning section"),
        ("", "", nil, nil),
        // Streaming cannot tell text before <think> from reasoning (vLLM's NEW_LINE vs NEW_LINE_STREAMING).
        ("\n<think>This is a reasoning section</think>\nThis is the rest", "This is a reasoning section", "\nThis is the rest", "\nThis is a reasoning section"),
    ]

    @Test func deepseekR1() {
        let parser = ReasoningParser(kind: .deepseekR1)
        for c in Self.deepseekCases {
            let (reasoning, content) = parser.extract(c.output)
            #expect(reasoning == c.reasoning && content == c.content, "\(c.output.debugDescription)")
            for size in [1, 3, 7] {
                let (r, t) = Self.streamed(.deepseekR1, Self.chunks(c.output, size))
                #expect(r == c.streamedReasoning && t == c.content, "\(c.output.debugDescription) in chunks of \(size): \(String(describing: r)) \(String(describing: t))")
            }
        }
    }

    static let toolCallBody = "<tool_call>\n<function=bash>\n<parameter=command>\ncat /etc/hosts\n</parameter>\n</function>\n</tool_call>"

    static let qwen3Cases: [(output: String, reasoning: String?, content: String?)] = [
        ("This is a reasoning section</think>This is the rest", "This is a reasoning section", "This is the rest"),
        ("This is a reasoning section</think>", "This is a reasoning section", nil),
        ("<think>This is a reasoning section</think>This is the rest", "This is a reasoning section", "This is the rest"),
        ("This is the rest", "This is the rest", nil),
        ("<think>This is a reasoning section</think>", "This is a reasoning section", nil),
        ("<think>This is a reasoning\nsection</think>This is the rest\nThat", "This is a reasoning\nsection", "This is the rest\nThat"),
        ("<think>This is a reasoning section", "This is a reasoning section", nil),
        ("I need to read the file.\n\n" + toolCallBody, "I need to read the file.\n\n", toolCallBody),
        ("<think>I need to read the file.\n\n" + toolCallBody, "I need to read the file.\n\n", toolCallBody),
    ]

    @Test func qwen3() {
        let parser = ReasoningParser(kind: .qwen3)
        for c in Self.qwen3Cases {
            let (reasoning, content) = parser.extract(c.output)
            #expect(reasoning == c.reasoning && content == c.content, "\(c.output.debugDescription)")
            for size in [1, 4, 100] {
                let (r, t) = Self.streamed(.qwen3, Self.chunks(c.output, size))
                #expect(r == c.reasoning && t == c.content, "\(c.output.debugDescription) in chunks of \(size): \(String(describing: r)) \(String(describing: t))")
            }
        }
        // vLLM's multi-token deltas.
        #expect(Self.streamed(.qwen3, ["<think>This is a reasoning section", "</think>", "This is the rest"]) == ("This is a reasoning section", "This is the rest"))
        #expect(Self.streamed(.qwen3, ["<think>reasoning</think>"]) == ("reasoning", nil))
        #expect(Self.streamed(.qwen3, ["I need to read the file.\n\n", "<tool_call>\n<function=bash>"]) == ("I need to read the file.\n\n", "<tool_call>\n<function=bash>"))
        // A <tool_call> that does not open a function stays reasoning.
        #expect(parser.extract("Maybe <tool_call> text").reasoning == "Maybe <tool_call> text")
    }

    @Test func qwen3WithThinkingDisabled() {
        let parser = ReasoningParser(kind: .qwen3)
        for output in ["This is plain content", "Some output without think tokens", "I need to read the file.\n\n" + Self.toolCallBody] {
            let (reasoning, content) = parser.extract(output, thinkingEnabled: false)
            #expect(reasoning == nil && content == output)
            #expect(Self.streamed(.qwen3, Self.chunks(output, 3), thinkingEnabled: false) == (nil, output))
        }
        // deepseek_r1 has no switch: enable_thinking does not change it.
        #expect(ReasoningParser(kind: .deepseekR1).extract("plain", thinkingEnabled: false) == ("plain", nil))
    }

    @Test func names() {
        #expect(ReasoningParser.names == ["deepseek_r1", "qwen3"])
        #expect(ReasoningParser(name: "qwen3")?.kind == .qwen3 && ReasoningParser(name: "granite") == nil)
    }
}
