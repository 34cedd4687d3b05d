import Foundation
import VLLMJSON

/// Turns a model's generated text into OpenAI tool calls, as the vLLM tool-call parser of the same name does
/// (`--tool-call-parser NAME`). A parser is stateless: streaming state lives in `ToolCallStreamer`, which re-reads
/// the accumulated text with `partial(_:)` at each delta and sends what is new.
public protocol ToolParser: Sendable {
    /// The calls in a complete output and the content beside them (nil when there is none, as vLLM returns it).
    /// Output that is not a well-formed tool call stays content, with no calls.
    func extract(_ output: String) -> ToolCallExtraction
    /// What can be told from an output still being generated: how much of it is content that will not turn into
    /// a call, and each call's name and arguments text so far (arguments only ever grow).
    func partial(_ text: String) -> PartialToolCalls
    /// A new call id in this parser's format.
    func newCallID() -> String
    /// Whether the call markers may be special tokens, so that outputs must keep special tokens (vLLM's hermes and
    /// mistral parsers set `skip_special_tokens = False` on requests with tools).
    var needsSpecialTokens: Bool { get }
}

extension ToolParser {
    /// vLLM's `make_tool_call_id`: `chatcmpl-tool-` and 32 random hex digits.
    public func newCallID() -> String { ToolCallID.random() }

    public var needsSpecialTokens: Bool { false }
}

/// One call as the model wrote it: the function's name and its arguments as JSON text.
public struct ParsedToolCall: Sendable, Equatable {
    public var name: String
    /// JSON text, as vLLM writes it (`json.dumps(arguments, ensure_ascii=False)` for most parsers).
    public var arguments: String

    public init(name: String, arguments: String) {
        self.name = name
        self.arguments = arguments
    }
}

/// The result of parsing a complete output.
public struct ToolCallExtraction: Sendable, Equatable {
    public var calls: [ParsedToolCall]
    /// Text that is not part of a call; nil when empty, as vLLM returns it when calls were made.
    public var content: String?

    public init(calls: [ParsedToolCall], content: String?) {
        self.calls = calls
        self.content = content
    }

    /// No calls: the whole output is content.
    public static func text(_ output: String) -> ToolCallExtraction { ToolCallExtraction(calls: [], content: output) }
}

/// The state of an output still being generated.
public struct PartialToolCalls: Sendable, Equatable {
    /// Length in UTF-8 bytes of the prefix that is content for sure (text that may still open a call is held back).
    public var contentLength: Int
    /// Calls begun so far, in order.
    public var calls: [Call]

    public struct Call: Sendable, Equatable {
        /// The name once it is complete (OpenAI sends a name whole).
        public var name: String?
        /// The arguments text so far; each later value extends the earlier one.
        public var arguments: String?

        public init(name: String?, arguments: String?) {
            self.name = name
            self.arguments = arguments
        }
    }

    public init(contentLength: Int, calls: [Call]) {
        self.contentLength = contentLength
        self.calls = calls
    }
}

/// The parsers `--tool-call-parser` accepts.
public enum ToolParsers {
    public static let names = ["hermes", "llama3_json", "mistral", "pythonic"]

    /// The parser named `name`, or nil. `vocabularyHasArgsToken` tells Mistral's two formats apart (a vocabulary with `[ARGS]`
    /// is a v11+ tokenizer's: `[TOOL_CALLS]name{args}`).
    public static func make(_ name: String, vocabularyHasArgsToken: Bool = false) -> (any ToolParser)? {
        switch name {
        case "hermes": HermesToolParser()
        case "llama3_json": Llama3JSONToolParser()
        case "mistral": MistralToolParser(argsFormat: vocabularyHasArgsToken)
        case "pythonic": PythonicToolParser()
        default: nil
        }
    }
}

/// Tool-call ids as vLLM makes them.
enum ToolCallID {
    /// `chatcmpl-tool-` + `uuid4().hex`.
    static func random() -> String {
        "chatcmpl-tool-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    /// Mistral's: 9 random letters and digits.
    static func mistral() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<9).map { _ in alphabet.randomElement()! })
    }
}
