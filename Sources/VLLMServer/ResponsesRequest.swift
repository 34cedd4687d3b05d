import VLLMJSON

/// A `POST /v1/responses` body read as the chat request it amounts to (vLLM's Responses API serves through its chat
/// machinery too): `input` and `instructions` become `messages`, flat function `tools` become chat tools,
/// `text.format` becomes `response_format`, `max_output_tokens` becomes `max_tokens`, `reasoning.effort` becomes
/// `reasoning_effort`; the sampling fields pass through. What cannot be served is refused by name: stored
/// responses (`previous_response_id`, `background`), built-in tools, non-text inputs, `include` values other than
/// `message.output_text.logprobs`, `truncation: auto`.
struct ResponsesRequest {
    /// The chat request's fields.
    let chat: RequestFields
    /// Echoed in the response object.
    let tools: [JSONValue]
    let toolChoice: JSONValue
    let textFormat: JSONValue
    let reasoning: JSONValue
    let instructions: String?
    let maxOutputTokens: Int?
    let metadata: JSONValue
    let user: JSONValue
    let stream: Bool
    /// Top alternatives a token for the output text's logprobs (`include: ["message.output_text.logprobs"]` or
    /// `top_logprobs`), nil when none are asked for.
    let logprobs: Int?

    static let knownKeys = RequestFields.samplingKeys.union(responsesKeys).union(chatOnlyKeys)
        .union(["parallel_tool_calls", "chat_template_kwargs"])  // the chat request takes these as they are

    /// The Responses API's own fields: read here, none passed on as they are.
    static let responsesKeys: Set<String> = [
        "input", "instructions", "max_output_tokens", "tools", "tool_choice", "text", "reasoning", "store", "metadata",
        "previous_response_id", "background", "include", "truncation", "top_logprobs", "max_tool_calls", "prompt",
    ]

    /// Chat and completions fields a Responses request is refused for, by name: their Responses counterparts
    /// (`input`, `max_output_tokens`, `text.format`), or what a response has no place for (several choices, beams,
    /// prompt logprobs).
    static let chatOnlyKeys = ["messages", "max_tokens", "n", "stream_options", "response_format", "use_beam_search", "best_of",
                               "length_penalty", "prompt_logprobs", "logprobs", "echo", "add_generation_prompt", "continue_final_message"]

    init(_ fields: RequestFields) throws(APIError) {
        if let id = try fields.string("previous_response_id") {
            throw APIError(status: .notFound, message: "Response with id '\(id)' not found: this server does not store responses (as vLLM without VLLM_ENABLE_RESPONSES_API_STORE).",
                           param: "previous_response_id")
        }
        if try fields.bool("background") == true {
            throw APIError.invalid("background mode needs stored responses, which this server does not keep", param: "background")
        }
        var wantsLogprobs = false
        if let include = fields["include"] {
            guard let values = include.array else { throw RequestFields.type("include", "a list of strings", include) }
            for value in values {
                guard value == .string("message.output_text.logprobs") else {
                    throw APIError.invalid("include \(value.serialized()) is not supported ('message.output_text.logprobs' is)", param: "include")
                }
                wantsLogprobs = true
            }
        }
        let top = try fields.int("top_logprobs")
        logprobs = wantsLogprobs || (top ?? 0) > 0 ? (top ?? 0) : nil
        if let truncation = try fields.string("truncation"), truncation != "disabled" {
            throw APIError.invalid("truncation '\(truncation)' is not supported: a prompt over the context length is refused ('disabled')", param: "truncation")
        }
        for key in ["prompt", "max_tool_calls"] where fields[key] != nil {
            throw APIError.invalid("'\(key)' is not supported by this server's Responses API", param: key)
        }
        var chat = fields.values
        for key in Self.responsesKeys { chat[key] = nil }
        for key in Self.chatOnlyKeys where fields[key] != nil {
            throw APIError.invalid("'\(key)' is a Chat Completions field; the Responses API does not take it", param: key)
        }
        let instructions = try fields.string("instructions")
        var messages: [JSONValue] = instructions.map { [.object(["role": .string("system"), "content": .string($0)])] } ?? []
        messages += try Self.messages(fields["input"])
        chat["messages"] = .array(messages)
        if let value = fields["tools"] { tools = try Self.array(value, "tools") } else { tools = [] }
        var chatTools: [JSONValue] = []
        for (i, tool) in tools.enumerated() { chatTools.append(try Self.chatTool(tool, index: i)) }
        if !chatTools.isEmpty { chat["tools"] = .array(chatTools) }
        toolChoice = fields["tool_choice"] ?? .string("auto")
        if let choice = fields["tool_choice"] { chat["tool_choice"] = try Self.chatToolChoice(choice) }
        textFormat = try fields.object("text")?["format"] ?? .object(["type": .string("text")])
        if let format = try Self.responseFormat(textFormat) { chat["response_format"] = format }
        reasoning = fields["reasoning"] ?? .object(["effort": .null, "summary": .null])
        if let effort = reasoning.object?["effort"], effort != .null { chat["reasoning_effort"] = effort }
        if let summary = reasoning.object?["summary"]?.string, summary != "auto" {
            throw APIError.invalid("reasoning.summary '\(summary)' is not supported: this server writes no summaries ('auto' leaves them out)", param: "reasoning")
        }
        maxOutputTokens = try fields.int("max_output_tokens")
        if let maxOutputTokens { chat["max_tokens"] = .number(Double(maxOutputTokens)) }
        self.instructions = instructions
        metadata = fields["metadata"] ?? .object([:])
        user = fields["user"] ?? .null
        stream = try fields.bool("stream") ?? false
        var request = RequestFields(values: chat)
        request.headerRequestID = fields.headerRequestID
        self.chat = request
    }

    /// `input`: a string (one user message) or a list of items: messages (`role` and `content`, a string or
    /// `input_text` / `output_text` parts), `function_call` and `function_call_output` items (an assistant message's
    /// tool calls and the tool's answers), `reasoning` items (dropped, as chat templates drop earlier turns' thinking).
    static func messages(_ input: JSONValue?) throws(APIError) -> [JSONValue] {
        guard let input else { throw APIError.invalid("'input' is required", param: "input") }
        if let text = input.string { return [.object(["role": .string("user"), "content": .string(text)])] }
        guard let items = input.array else { throw RequestFields.type("input", "a string or a list of input items", input) }
        var messages: [JSONObject] = []
        for (i, item) in items.enumerated() {
            guard let object = item.object else { throw APIError.invalid("input[\(i)] must be an object", param: "input") }
            switch object["type"]?.string ?? (object["role"] != nil ? "message" : "") {
            case "message":
                guard let role = object["role"]?.string, ["user", "assistant", "system", "developer"].contains(role) else {
                    throw APIError.invalid("input[\(i)].role must be user, assistant, system or developer", param: "input")
                }
                messages.append(["role": .string(role), "content": try content(object["content"], item: i)])
            case "function_call":
                guard let callID = object["call_id"]?.string, let name = object["name"]?.string else {
                    throw APIError.invalid("input[\(i)]: a function_call needs 'call_id' and 'name'", param: "input")
                }
                let call: JSONValue = .object(["id": .string(callID), "type": .string("function"),
                                               "function": .object(["name": .string(name), "arguments": object["arguments"] ?? .string("{}")])])
                if var last = messages.last, last["role"] == .string("assistant"), let calls = last["tool_calls"]?.array {
                    last["tool_calls"] = .array(calls + [call])
                    messages[messages.count - 1] = last
                } else {
                    messages.append(["role": .string("assistant"), "content": .null, "tool_calls": .array([call])])
                }
            case "function_call_output":
                guard let callID = object["call_id"]?.string, let output = object["output"] else {
                    throw APIError.invalid("input[\(i)]: a function_call_output needs 'call_id' and 'output'", param: "input")
                }
                messages.append(["role": .string("tool"), "tool_call_id": .string(callID), "content": try content(output, item: i)])
            case "reasoning":
                continue
            case let type:
                throw APIError.invalid("input[\(i)]: items of type '\(type)' are not supported (messages, function_call, function_call_output, reasoning are)", param: "input")
            }
        }
        guard !messages.isEmpty else { throw APIError.invalid("'input' holds no message", param: "input") }
        return messages.map(JSONValue.object)
    }

    /// A message's content as chat content: a string, or text parts (`input_text`, `output_text`, `text`).
    static func content(_ value: JSONValue?, item: Int) throws(APIError) -> JSONValue {
        guard let value else { return .string("") }
        if value.string != nil { return value }
        guard let parts = value.array else { throw APIError.invalid("input[\(item)].content must be a string or a list of parts", param: "input") }
        return .array(try parts.map { part throws(APIError) -> JSONValue in
            let type = part.object?["type"]?.string ?? ""
            guard ["input_text", "output_text", "text"].contains(type), let text = part.object?["text"] else {
                throw APIError.invalid("input[\(item)]: content parts of type '\(type)' are not supported (text parts are: this model reads text only)", param: "input")
            }
            return .object(["type": .string("text"), "text": text])
        })
    }

    /// A Responses function tool (`{type, name, description, parameters, strict}`) as a chat tool.
    static func chatTool(_ tool: JSONValue, index: Int) throws(APIError) -> JSONValue {
        guard let object = tool.object, let type = object["type"]?.string else { throw APIError.invalid("tools[\(index)] must be an object with a 'type'", param: "tools") }
        guard type == "function", let name = object["name"]?.string else {
            throw APIError.invalid(type == "function" ? "tools[\(index)]: a function tool needs a 'name'"
                                   : "tools[\(index)]: built-in tools ('\(type)') are not supported; function tools are", param: "tools")
        }
        var function: JSONObject = ["name": .string(name)]
        for key in ["description", "parameters", "strict"] { if let v = object[key], v != .null { function[key] = v } }
        return .object(["type": .string("function"), "function": .object(function)])
    }

    /// `tool_choice`: "auto", "none", "required", or `{"type": "function", "name"}`.
    static func chatToolChoice(_ choice: JSONValue) throws(APIError) -> JSONValue {
        if choice.string != nil { return choice }
        guard let object = choice.object, object["type"]?.string == "function", let name = object["name"]?.string else {
            throw APIError.invalid("tool_choice must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"name\": ...}", param: "tool_choice")
        }
        return .object(["type": .string("function"), "function": .object(["name": .string(name)])])
    }

    /// `text.format` as chat's `response_format`: nil for plain text.
    static func responseFormat(_ format: JSONValue) throws(APIError) -> JSONValue? {
        switch format.object?["type"]?.string {
        case "text"?: return nil
        case "json_object"?: return .object(["type": .string("json_object")])
        case "json_schema"?:
            let object = format.object ?? [:]
            guard let schema = object["schema"] else { throw APIError.invalid("text.format of type json_schema needs a 'schema'", param: "text") }
            var spec: JSONObject = ["name": object["name"] ?? .string("response"), "schema": schema]
            if let strict = object["strict"] { spec["strict"] = strict }
            return .object(["type": .string("json_schema"), "json_schema": .object(spec)])
        default:
            throw APIError.invalid("text.format must be of type text, json_object or json_schema", param: "text")
        }
    }

    static func array(_ value: JSONValue, _ key: String) throws(APIError) -> [JSONValue] {
        guard let array = value.array else { throw RequestFields.type(key, "an array", value) }
        return array
    }
}
