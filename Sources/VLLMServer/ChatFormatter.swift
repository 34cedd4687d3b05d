import Foundation
import OrderedCollections
import VLLMChatTemplates
import VLLMJSON
import VLLMModelFormats
import VLLMTokenizers

/// Renders chat requests into prompt text with the model's chat template (or `--chat-template`), as vLLM does:
/// `messages`, `tools`, `documents`, `add_generation_prompt`, `bos_token`, `eos_token` and `chat_template_kwargs`
/// are the template's variables; `continue_final_message` leaves the last message open.
public struct ChatFormatter: Sendable {
    public let template: ChatTemplate?
    let bosToken: String
    let eosToken: String
    /// Whether the template reads message content as a list of parts (otherwise parts are joined with newlines).
    let wantsContentParts: Bool

    /// - Parameters:
    ///   - override: a template file path, or template text, replacing the model's template.
    ///   - limits: the sandbox's bounds for the template (time, recursion, sizes).
    public init(tokenizer: Tokenizer, override: String?, limits: TemplateLimits = .default) throws {
        var source = tokenizer.chatTemplate
        if let override {
            if FileManager.default.fileExists(atPath: override) {
                source = try Self.templateFile(override)
            } else if override.contains("{") {
                source = override
            } else {
                throw ChatFormatterError("--chat-template: no such file '\(override)'")
            }
        }
        try self.init(source: source, bosToken: tokenizer.bosToken ?? "", eosToken: tokenizer.eosToken ?? "", limits: limits)
    }

    /// The text of the template file at `path`: refused by name, without opening it, when it is not a regular file
    /// (a FIFO would block the start forever, a device never end), and when it is over the sandbox's string size.
    public static func templateFile(_ path: String, limit: Int = TemplateLimits.default.maxStringBytes) throws -> String {
        let bytes: [UInt8]?
        do { bytes = try MappedFile.contents(of: path, limit: limit) } catch { throw ChatFormatterError("--chat-template: \(error)") }
        guard let bytes else { throw ChatFormatterError("--chat-template: no such file '\(path)'") }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ChatFormatterError("--chat-template: '\(path)' is not UTF-8 text")
        }
        return text
    }

    /// A formatter over template text (nil: the model has none) and the tokenizer's BOS and EOS text.
    public init(source: String?, bosToken: String, eosToken: String, limits: TemplateLimits = .default) throws {
        template = try source.map { try ChatTemplate($0, limits: limits) }
        self.bosToken = bosToken
        self.eosToken = eosToken
        let text = source ?? ""
        let markers = ["content'] is not string", "content is not string", "content'] is string", "content is string",
                       "in message['content']", "in message.content", "in msg['content']", "in msg.content",
                       "in m['content']", "in m.content", "content'] is iterable", "content is iterable"]
        wantsContentParts = markers.contains { text.contains($0) }
    }

    /// Renders `request` into prompt text on a template thread (the caller's thread is not blocked). Throws
    /// `TemplateError` when the template fails or exceeds its limits, `ChatFormatterError` when there is none.
    public func render(_ request: ChatRequest) async throws -> String {
        guard let template else {
            throw ChatFormatterError("this model has no chat template; pass one with --chat-template")
        }
        var rendered = try await template.render { [self] in context(request) }
        if request.continueFinalMessage, let last = request.messages.last, let content = Self.text(of: last) {
            let trimmed = content.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty, let range = rendered.range(of: trimmed, options: .backwards) {
                rendered = String(rendered[..<range.upperBound])
            }
        }
        return rendered
    }

    /// The template's variables for `request`.
    private func context(_ request: ChatRequest) -> [String: TemplateValue] {
        var context: [String: TemplateValue] = [
            "messages": .array(request.messages.map(message)),
            "add_generation_prompt": .bool(request.addGenerationPrompt && !request.continueFinalMessage),
            "bos_token": .string(bosToken),
            "eos_token": .string(eosToken),
        ]
        context["tools"] = request.tools.map { .array($0.map(Self.value)) } ?? TemplateValue.none
        if let documents = request.documents { context["documents"] = .array(documents.map(Self.value)) }
        for (key, value) in request.templateArguments { context[key] = Self.value(value) }
        return context
    }

    /// One message as vLLM's conversation parsing hands it to the template: content null or absent becomes no
    /// parts, so `""` for templates that read a string and `[]` for those that read parts (a template adding
    /// `message['content']` to a string failed on null: "unsupported operand type(s) for +: 'str' and 'NoneType'");
    /// a list of parts is joined with newlines for string templates.
    private func message(_ json: JSONValue) -> TemplateValue {
        guard var object = json.object else { return Self.value(json) }
        switch object["content"] {
        case nil, .null?:
            object["content"] = wantsContentParts ? .array([]) : .string("")
        case .array(let parts)? where !wantsContentParts:
            object["content"] = .string(parts.compactMap { $0.object?["text"]?.string }.joined(separator: "\n"))
        default:
            break
        }
        if object["role"] == .string("assistant"), let calls = object["tool_calls"]?.array {
            object["tool_calls"] = .array(calls.map(Self.decodingArguments))
        }
        return Self.value(.object(object))
    }

    /// A tool call of an assistant message with its `function.arguments` as the template expects them, as vLLM's
    /// `_postprocess_messages` does: JSON text is parsed into its value, empty or absent arguments become `{}`
    /// (OpenAI clients send the text the server returned; Hugging Face templates write `arguments | tojson`).
    static func decodingArguments(_ call: JSONValue) -> JSONValue {
        guard var object = call.object, var function = object["function"]?.object else { return call }
        switch function["arguments"] {
        case .string(let text)? where !text.isEmpty:
            guard let value = try? JSONParser.parse(Data(text.utf8)) else { return call }
            function["arguments"] = value
        case .object?, .array?:
            return call
        default:
            function["arguments"] = .object([:])
        }
        object["function"] = .object(function)
        return .object(object)
    }

    static func text(of message: JSONValue) -> String? {
        if let s = message.object?["content"]?.string { return s }
        return message.object?["content"]?.array?.compactMap { $0.object?["text"]?.string }.joined(separator: "\n")
    }

    /// JSON → template value; whole numbers become ints, as Python's json module would parse them; members keep the
    /// client's order (what `tojson` prints in tool definitions).
    static func value(_ json: JSONValue) -> TemplateValue {
        switch json {
        case .null: return .none
        case let .bool(b): return .bool(b)
        case let .number(n): return n == n.rounded() && abs(n) < 1e15 ? .int(Int(n)) : .double(n)
        case let .string(s): return .string(s)
        case let .array(a): return .array(a.map(value))
        case let .object(o): return .object(o.mapValues(value))
        }
    }
}

/// A chat request that cannot be rendered: the model has no template (reported as HTTP 400, as vLLM does).
public struct ChatFormatterError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
