import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMGrammar
import VLLMJSON
@testable import VLLMServer

/// `tools`, `tool_choice`, `parallel_tool_calls` and the reasoning parser through `/v1/chat/completions`, with a
/// fake model that says a fixed text.
struct ToolCallingEndpointTests {
    static let parameters = #"{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}"#
    static let tools = #"[{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city", "parameters": \#(parameters)}}, {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}]"#
    static let call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"

    static func app(output: String, tools: Bool = true, reasoning: ReasoningParser.Kind? = nil, chat: ChatFormatter? = nil,
                    backend: FakeBackend? = nil) -> (some ApplicationProtocol, FakeBackend) {
        let backend = backend ?? FakeBackend(chat: chat, output: output)
        var configuration = ServerConfiguration()
        configuration.servedModelNames = ["fake"]
        configuration.enableAutoToolChoice = tools
        configuration.toolParser = tools ? HermesToolParser() : nil
        configuration.reasoningParser = reasoning.map(ReasoningParser.init(kind:))
        return (Application(router: OpenAIServer.router(ServerContext(backend: backend, configuration: configuration))), backend)
    }

    static func body(_ extra: String, tools: Bool = true) -> String {
        #"{"model": "fake", "messages": [{"role": "user", "content": "Weather in Paris?"}], "max_tokens": 200"#
            + (tools ? #", "tools": \#(Self.tools)"# : "") + extra + "}"
    }

    static func choice(_ body: [String: Any]) -> [String: Any] { (body["choices"] as? [[String: Any]])?.first ?? [:] }
    static func message(_ body: [String: Any]) -> [String: Any] { choice(body)["message"] as? [String: Any] ?? [:] }
    static func calls(_ body: [String: Any]) -> [[String: Any]] { message(body)["tool_calls"] as? [[String: Any]] ?? [] }
    static func function(_ call: [String: Any]) -> [String: String] { call["function"] as? [String: String] ?? [:] }

    /// The streamed deltas of choice 0 and the last finish reason.
    static func deltas(_ raw: String) -> (deltas: [[String: Any]], finish: String?) {
        let chunks = raw.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }.map { json(ByteBuffer(string: String($0.dropFirst(6)))) }
        let choices = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first }
        return (choices.compactMap { $0["delta"] as? [String: Any] }, choices.last?["finish_reason"] as? String)
    }

    @Test func autoNeedsTheServerFlags() async throws {
        let (app, _) = Self.app(output: Self.call, tools: false)
        try await app.test(.router) { client in
            for extra in ["", #", "tool_choice": "auto""#] {
                let (status, reply, _) = try await post(client, "/v1/chat/completions", Self.body(extra))
                #expect(status == .badRequest)
                let error = reply["error"] as? [String: Any]
                #expect(error?["message"] as? String == #""auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set"#)
            }
            // tool_choice none needs no parser: the output is text.
            let (status, reply, _) = try await post(client, "/v1/chat/completions", Self.body(#", "tool_choice": "none""#))
            #expect(status == .ok && Self.message(reply)["content"] as? String == Self.call && Self.calls(reply).isEmpty)
        }
    }

    @Test(arguments: [
        (#", "tool_choice": "auto""#, false, "When using `tool_choice`, `tools` must be set."),
        (#", "tool_choice": "sometimes""#, true, #"Invalid value for `tool_choice`: "sometimes"! Only named tools, "none", "auto" or "required" are supported."#),
        (#", "tool_choice": {"type": "function", "function": {"name": "nope"}}"#, true, "The tool specified in `tool_choice` does not match any of the specified `tools`"),
        (#", "tools": {"type": "function"}"#, false, "'tools' must be an array of tools, got object"),
        (#", "tool_choice": {"type": "function"}"#, true, #"Invalid value for `function`: `None` in `tool_choice`! Correct usage: `{"type": "function", "function": {"name": "my_function"}}`"#),
    ])
    func toolChoiceIsCheckedAsVLLMDoes(_ extra: String, _ withTools: Bool, _ message: String) async throws {
        let (app, _) = Self.app(output: Self.call)
        try await app.test(.router) { client in
            let (status, reply, _) = try await post(client, "/v1/chat/completions", Self.body(extra, tools: withTools))
            #expect(status == .badRequest)
            let error = reply["error"] as? [String: Any]
            #expect(error?["message"] as? String == message)
            #expect(error?["param"] as? String == (extra.hasPrefix(#", "tools""#) ? "tools" : "tool_choice"))
        }
    }

    @Test func autoReturnsToolCalls() async throws {
        let (app, backend) = Self.app(output: "Let me look.\n" + Self.call)
        try await app.test(.router) { client in
            let (status, reply, _) = try await post(client, "/v1/chat/completions", Self.body(""))
            #expect(status == .ok)
            #expect(Self.choice(reply)["finish_reason"] as? String == "tool_calls")
            #expect(Self.message(reply)["content"] as? String == "Let me look.\n")
            let calls = Self.calls(reply)
            #expect(calls.count == 1)
            #expect((calls.first?["id"] as? String)?.hasPrefix("chatcmpl-tool-") == true && calls.first?["type"] as? String == "function")
            #expect(Self.function(calls.first ?? [:]) == ["name": "get_weather", "arguments": #"{"city": "Paris"}"#])
            // hermes keeps special tokens (its tags may be special) and sets no constraint.
            let parameters = try #require(backend.lastParameters.withLock { $0 })
            #expect(!parameters.skipSpecialTokens && parameters.structuredOutputs == nil)
        }
    }

    @Test func autoStreamsToolCalls() async throws {
        let (app, _) = Self.app(output: "Sure." + Self.call)
        try await app.test(.router) { client in
            let (_, _, raw) = try await post(client, "/v1/chat/completions", Self.body(#", "stream": true"#))
            let (deltas, finish) = Self.deltas(raw)
            #expect(finish == "tool_calls")
            #expect(deltas.compactMap { $0["content"] as? String }.joined() == "Sure.")
            let entries = deltas.flatMap { $0["tool_calls"] as? [[String: Any]] ?? [] }
            let first = try #require(entries.first)
            #expect(first["index"] as? Int == 0 && first["type"] as? String == "function" && (first["id"] as? String)?.hasPrefix("chatcmpl-tool-") == true)
            #expect(Self.function(first) == ["name": "get_weather"])
            let arguments = entries.dropFirst().compactMap { Self.function($0)["arguments"] }
            #expect(arguments.count > 1, "arguments come in pieces")
            #expect(arguments.joined() == #"{"city": "Paris"}"#)
            #expect(entries.dropFirst().allSatisfy { $0["id"] == nil && $0["index"] as? Int == 0 })
        }
    }

    /// Text held back because it might open a tag (`<tool`, `</thi`) is sent with the last chunk.
    @Test func heldBackTextComesWithTheLastChunk() async throws {
        let (app, _) = Self.app(output: "Use a </thi", reasoning: .deepseekR1)
        try await app.test(.router) { client in
            let (_, _, raw) = try await post(client, "/v1/chat/completions", Self.body(#", "stream": true"#))
            let (deltas, finish) = Self.deltas(raw)
            #expect(deltas.compactMap { $0["reasoning"] as? String }.joined() == "Use a </thi" && finish == "stop")
        }
        let (plain, _) = Self.app(output: "Use a <tool")
        try await plain.test(.router) { client in
            let (_, _, raw) = try await post(client, "/v1/chat/completions", Self.body(#", "stream": true"#))
            #expect(Self.deltas(raw).deltas.compactMap { $0["content"] as? String }.joined() == "Use a <tool")
        }
    }

    @Test func parallelToolCallsFalseKeepsTheFirstCall() async throws {
        let two = Self.call + "\n" + Self.call.replacingOccurrences(of: "get_weather", with: "get_time")
        let (app, _) = Self.app(output: two)
        try await app.test(.router) { client in
            let (_, all, _) = try await post(client, "/v1/chat/completions", Self.body(""))
            #expect(Self.calls(all).map { Self.function($0)["name"] } == ["get_weather", "get_time"])
            let (_, one, _) = try await post(client, "/v1/chat/completions", Self.body(#", "parallel_tool_calls": false"#))
            #expect(Self.calls(one).map { Self.function($0)["name"] } == ["get_weather"])
            let (_, _, raw) = try await post(client, "/v1/chat/completions", Self.body(#", "parallel_tool_calls": false, "stream": true"#))
            let entries = Self.deltas(raw).deltas.flatMap { $0["tool_calls"] as? [[String: Any]] ?? [] }
            #expect(entries.allSatisfy { $0["index"] as? Int == 0 } && !entries.isEmpty)
        }
    }

    static let requiredSchema = #"{"type": "array", "minItems": 1, "items": {"type": "object", "anyOf": [{"properties": {"name": {"type": "string", "enum": ["get_weather"]}, "parameters": \#(parameters)}, "required": ["name", "parameters"]}, {"properties": {"name": {"type": "string", "enum": ["get_time"]}, "parameters": {"type": "object", "properties": {}}}, "required": ["name", "parameters"]}]}}"#

    /// The schemas vLLM's `_get_json_schema_from_tool` builds: `required`, an array of {name, parameters} with
    /// minItems 1; a named tool, that tool's parameters; `$defs` lifted to the top.
    @Test func constraintSchemas() throws {
        let tools = try #require(try JSONParser.parse(Data(Self.tools.utf8)).array)
        #expect(try ToolChoice.required.schema(tools: tools)?.serialized() == Self.requiredSchema)
        #expect(try ToolChoice.named("get_weather").structuredOutputs(tools: tools) == .json(schema: try JSONParser.parse(Data(Self.parameters.utf8)), whitespacePattern: nil))
        #expect(try ToolChoice.auto.schema(tools: tools) == nil && ToolChoice.none.schema(tools: tools) == nil)
        let withDefs = try #require(try JSONParser.parse(Data(##"[{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"p": {"$ref": "#/$defs/P"}}, "$defs": {"P": {"type": "integer"}}}}}]"##.utf8)).array)
        #expect(try ToolChoice.required.schema(tools: withDefs)?.serialized() == ##"{"type": "array", "minItems": 1, "items": {"type": "object", "anyOf": [{"properties": {"name": {"type": "string", "enum": ["f"]}, "parameters": {"type": "object", "properties": {"p": {"$ref": "#/$defs/P"}}}}, "required": ["name", "parameters"]}]}, "$defs": {"P": {"type": "integer"}}}"##)
    }

    /// The constrained outputs become calls as vLLM turns them: `required`'s array (finish `tool_calls`), a named
    /// tool's whole output as its arguments (finish `stop`), content `""`.
    @Test func constrainedOutputsBecomeCalls() {
        let required = ChatOutputReader(toolChoice: .required, toolParser: ToolChoice.required.parser(auto: nil))
        let (message, finish) = required.message(#"[{"name": "get_weather", "parameters": {"city": "Paris"}}, {"name": "get_time", "parameters": {}}]"#, finishReason: "stop")
        let calls = message.object?["tool_calls"]?.array ?? []
        #expect(finish == "tool_calls" && message.object?["content"] == .string(""))
        #expect(calls.map { $0.object?["function"] } == [.object(["name": .string("get_weather"), "arguments": .string(#"{"city": "Paris"}"#)]), .object(["name": .string("get_time"), "arguments": .string("{}")])])
        let named = ChatOutputReader(toolChoice: .named("get_weather"), toolParser: ToolChoice.named("get_weather").parser(auto: nil))
        let (namedMessage, namedFinish) = named.message(#"{"city": "Paris"}"#, finishReason: "stop")
        #expect(namedFinish == "stop" && namedMessage.object?["tool_calls"]?.array?.first?.object?["function"] == .object(["name": .string("get_weather"), "arguments": .string(#"{"city": "Paris"}"#)]))
        var stream = ChatDeltaStream(reader: required)
        var arguments = ""
        for piece in [#"[{"name": "get_wea"#, #"ther", "parameters": {"city""#, #": "Paris"}}]"#] {
            for entry in stream.feed(piece)["tool_calls"]?.array ?? [] { arguments += entry.object?["function"]?.object?["arguments"]?.string ?? "" }
        }
        #expect(arguments == #"{"city": "Paris"}"# && stream.calledTools)
    }

    /// Through the endpoint: the tools' schema is compiled before the request queues, reaches the engine as its
    /// constraint, and the answer carries the call.
    @Test func requiredThroughTheEndpoint() async throws {
        let (app, backend) = Self.app(output: #"[{"name": "get_weather", "parameters": {"city": "Paris"}}]"#)
        try await app.test(.router) { client in
            let (status, reply, _) = try await post(client, "/v1/chat/completions", Self.body(#", "tool_choice": "required""#))
            #expect(status == .ok)
            #expect(Self.choice(reply)["finish_reason"] as? String == "tool_calls")
            #expect(Self.message(reply)["content"] as? String == "")
            #expect(Self.calls(reply).map(Self.function) == [["name": "get_weather", "arguments": #"{"city": "Paris"}"#]])
            let schema = backend.lastParameters.withLock { $0?.structuredOutputs }
            #expect(schema == .json(schema: try JSONParser.parse(Data(Self.requiredSchema.utf8)), whitespacePattern: nil))
        }
    }

    @Test func namedToolThroughTheEndpoint() async throws {
        let (app, backend) = Self.app(output: #"{"city": "Paris"}"#, tools: false)
        try await app.test(.router) { client in
            let named = #", "tool_choice": {"type": "function", "function": {"name": "get_weather"}}"#
            let (status, reply, _) = try await post(client, "/v1/chat/completions", Self.body(named))
            #expect(status == .ok, "a named tool needs no parser")
            #expect(Self.choice(reply)["finish_reason"] as? String == "stop")
            #expect(Self.calls(reply).map(Self.function) == [["name": "get_weather", "arguments": #"{"city": "Paris"}"#]])
            let schema = backend.lastParameters.withLock { $0?.structuredOutputs }
            #expect(schema == .json(schema: try JSONParser.parse(Data(Self.parameters.utf8)), whitespacePattern: nil))
            let (_, _, raw) = try await post(client, "/v1/chat/completions", Self.body(named + #", "stream": true"#))
            let entries = Self.deltas(raw).deltas.flatMap { $0["tool_calls"] as? [[String: Any]] ?? [] }
            #expect(Self.function(entries.first ?? [:])["name"] == "get_weather")
            #expect(entries.compactMap { Self.function($0)["arguments"] }.joined() == #"{"city": "Paris"}"#)
        }
    }

    @Test func reasoningThenToolCalls() async throws {
        let (app, _) = Self.app(output: "<think>Paris, so weather.</think>\n\n" + Self.call, reasoning: .qwen3)
        try await app.test(.router) { client in
            let (_, reply, _) = try await post(client, "/v1/chat/completions", Self.body(""))
            #expect(Self.message(reply)["reasoning"] as? String == "Paris, so weather.")
            #expect(Self.message(reply)["content"] as? String == "\n\n")
            #expect(Self.calls(reply).count == 1 && Self.choice(reply)["finish_reason"] as? String == "tool_calls")
            let (_, _, raw) = try await post(client, "/v1/chat/completions", Self.body(#", "stream": true"#))
            let (deltas, finish) = Self.deltas(raw)
            #expect(deltas.compactMap { $0["reasoning"] as? String }.joined() == "Paris, so weather.")
            #expect(deltas.flatMap { $0["tool_calls"] as? [[String: Any]] ?? [] }.compactMap { Self.function($0)["arguments"] }.joined() == #"{"city": "Paris"}"#)
            #expect(finish == "tool_calls")
            let (_, hidden, _) = try await post(client, "/v1/chat/completions", Self.body(#", "include_reasoning": false"#))
            #expect(Self.message(hidden)["reasoning"] is NSNull && Self.calls(hidden).count == 1)
        }
    }

    /// `chat_template_kwargs` reach the template, and `enable_thinking: false` makes qwen3's output content.
    @Test func enableThinkingReachesTemplateAndParser() async throws {
        let template = "{% if enable_thinking is defined and not enable_thinking %}[no-think]{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}"
        let chat = try ChatFormatter(source: template, bosToken: "", eosToken: "")
        let (app, backend) = Self.app(output: "Plain answer.", tools: false, reasoning: .qwen3, chat: chat)
        try await app.test(.router) { client in
            let off = #", "chat_template_kwargs": {"enable_thinking": false}"#
            let (_, reply, _) = try await post(client, "/v1/chat/completions", Self.body(off, tools: false))
            #expect(backend.lastChatPrompt.withLock { $0 } == "[no-think]Weather in Paris?")
            #expect(Self.message(reply)["content"] as? String == "Plain answer." && Self.message(reply)["reasoning"] is NSNull)
            let (_, thinking, _) = try await post(client, "/v1/chat/completions", Self.body("", tools: false))
            #expect(backend.lastChatPrompt.withLock { $0 } == "Weather in Paris?")
            #expect(Self.message(thinking)["reasoning"] as? String == "Plain answer." && Self.message(thinking)["content"] is NSNull)
        }
    }

    /// An assistant turn with `tool_calls` (arguments as the JSON text clients send back, content null) and the
    /// `tool` answer reach the template as Hugging Face templates expect them.
    @Test func toolTurnsRoundTripThroughTheTemplate() async throws {
        let template = "{% for m in messages %}{% if m.tool_calls %}{% for c in m.tool_calls %}<call {{ c.id }}>{{ c.function.name }} {{ c.function.arguments | tojson }} {{ c.function.arguments.city }}</call>{% endfor %}{% elif m.role == 'tool' %}<result {{ m.tool_call_id }}>{{ m.content }}</result>{% else %}<{{ m.role }}>{{ m.content }}{% endif %}{% endfor %}"
        let chat = try ChatFormatter(source: template, bosToken: "", eosToken: "")
        let (app, backend) = Self.app(output: "It is 22 C.", chat: chat)
        try await app.test(.router) { client in
            let messages = #"[{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}, {"role": "tool", "tool_call_id": "call_1", "content": "22 C"}]"#
            let (status, reply, _) = try await post(client, "/v1/chat/completions", #"{"model": "fake", "messages": \#(messages), "tools": \#(Self.tools)}"#)
            #expect(status == .ok)
            #expect(backend.lastChatPrompt.withLock { $0 } == #"<user>Weather?<call call_1>get_weather {"city": "Paris"} Paris</call><result call_1>22 C</result>"#)
            #expect(Self.message(reply)["content"] as? String == "It is 22 C." && Self.choice(reply)["finish_reason"] as? String == "stop")
            let bad = messages.replacingOccurrences(of: #""{\"city\": \"Paris\"}""#, with: #""{city""#)
            let (badStatus, badReply, _) = try await post(client, "/v1/chat/completions", #"{"model": "fake", "messages": \#(bad), "tools": \#(Self.tools)}"#)
            #expect(badStatus == .badRequest && (badReply["error"] as? [String: Any])?["param"] as? String == "messages")
        }
    }
}
