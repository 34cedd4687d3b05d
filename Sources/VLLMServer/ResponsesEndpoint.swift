import Foundation
import Hummingbird
import VLLMEngine
import VLLMJSON

/// `POST /v1/responses`: OpenAI's Responses API over the chat machinery (`ResponsesRequest`), answering with a
/// `response` object whose `output` holds the answer's items: its reasoning (`reasoning`, when the server has a
/// reasoning parser), its text (`message` with one `output_text` part) and its tool calls (`function_call`), or with
/// the API's semantic events when streamed (`ResponsesEventStream`). Responses are not stored (vLLM's default).
struct ResponsesEndpoint: Sendable {
    let server: ServerContext

    func handle(_ fields: RequestFields) async throws -> Response {
        fields.warnUnknown(ResponsesRequest.knownKeys, logger: server.logger)
        if try fields.bool("store") == true {
            server.logger.debug("store=true: this server does not store responses; the response says store: false")
        }
        let request = try ResponsesRequest(fields)
        let chat = ChatCompletionsEndpoint(server: server)
        var prepared = try await chat.prepare(request.chat, known: nil, api: "Responses API")
        prepared.parameters.logprobs = request.logprobs
        let choices = try await server.prepare(prompts: [prepared.promptIDs], parameters: prepared.parameters)
        let id = try fields.responseID("resp_"), created = Int(Date().timeIntervalSince1970)
        server.logReceived(id, choices)
        let priority = try fields.int("priority") ?? 0
        let shape = ResponseShape(id: id, createdAt: created, model: prepared.model, request: request,
                                  parameters: prepared.parameters, promptTokens: prepared.promptIDs.count)
        if request.stream {
            let events = ResponsesEventStream(shape: shape, reader: prepared.reader, logprobs: { chat.outputTextLogprobs($0) },
                                              reasoningTokens: { reasoningTokens($0) })
            let runner = server.runner
            return Responses.eventStream(named: true) { send in
                try await events.run(runner.merged(choices, priority: priority), send: send)
            }
        }
        let result = try await server.runner.gather(choices, priority: priority)[0]
        let reason = Responses.finishReason(result.finishReason).string ?? "stop"
        let (message, _) = prepared.reader.message(result.text, finishReason: reason)
        let status = result.finishReason == .length ? "incomplete" : "completed"
        let output = ResponseShape.items(message, lastStatus: status, logprobs: chat.outputTextLogprobs(result.logprobs))
        let usage = ResponseShape.Usage(output: result.tokenIDs.count, cached: result.cachedPromptTokenCount,
                                        reasoning: reasoningTokens(message.object?["reasoning"]?.string))
        return Responses.json(shape.response(status: status, output: output, usage: usage))
    }

    /// `GET`, `DELETE` and `POST .../cancel` of a stored response: none is stored, so 404.
    static func notStored(_ id: String?) throws -> Response {
        throw APIError(status: .notFound, message: "Response with id '\(id ?? "")' not found: this server does not store responses (as vLLM without VLLM_ENABLE_RESPONSES_API_STORE).")
    }

    /// The tokens of an answer's reasoning text (the parser splits text, not tokens: its text tokenized again).
    func reasoningTokens(_ text: String?) -> Int {
        guard let text, !text.isEmpty else { return 0 }
        return server.backend.tokenize(text, addSpecialTokens: false).count
    }
}

/// The `response` object of one request, at any stage (the events carry it too).
struct ResponseShape: Sendable {
    let id: String
    let createdAt: Int
    let model: String
    let request: ResponsesRequest
    let parameters: SamplingParameters
    let promptTokens: Int

    /// A finished response's token counts beyond its prompt's.
    struct Usage {
        var output: Int
        /// Prompt tokens served from the prefix cache.
        var cached: Int
        /// Output tokens of its reasoning.
        var reasoning: Int
    }

    /// `status`: in_progress, completed or incomplete (the output stopped at `max_output_tokens`); `usage` nil
    /// while in progress.
    func response(status: String, output: [JSONValue], usage: Usage?) -> JSONValue {
        let usage: JSONValue = usage.map { u in
            .object(["input_tokens": Responses.number(promptTokens), "input_tokens_details": .object(["cached_tokens": Responses.number(u.cached), "cache_write_tokens": .number(0)]),
                     "output_tokens": Responses.number(u.output), "output_tokens_details": .object(["reasoning_tokens": Responses.number(u.reasoning)]),
                     "total_tokens": Responses.number(promptTokens + u.output)])
        } ?? .null
        return .object([
            "id": .string(id), "object": .string("response"), "created_at": Responses.number(createdAt), "status": .string(status),
            "background": .bool(false), "error": .null,
            "incomplete_details": status == "incomplete" ? .object(["reason": .string("max_output_tokens")]) : .null,
            "instructions": request.instructions.map(JSONValue.string) ?? .null,
            "max_output_tokens": request.maxOutputTokens.map(Responses.number) ?? .null, "metadata": request.metadata,
            "model": .string(model), "output": .array(output), "parallel_tool_calls": .bool(request.chat["parallel_tool_calls"]?.bool ?? true),
            "previous_response_id": .null, "reasoning": request.reasoning, "store": .bool(false),
            "temperature": .number(Double(parameters.temperature)), "text": .object(["format": request.textFormat]),
            "tool_choice": request.toolChoice, "tools": .array(request.tools), "top_p": .number(Double(parameters.topP)),
            "truncation": .string("disabled"), "usage": usage, "user": request.user,
        ])
    }

    /// A chat answer (`ChatOutputReader.message`) as Responses output items: reasoning, then text (with the output's
    /// `logprobs`), then calls; the last item has `lastStatus` (`incomplete` when the output stopped at
    /// `max_output_tokens`).
    static func items(_ message: JSONValue, lastStatus: String, logprobs: [JSONValue] = []) -> [JSONValue] {
        let object = message.object ?? [:]
        var items: [JSONValue] = []
        if let reasoning = object["reasoning"]?.string, !reasoning.isEmpty { items.append(reasoningItem(id: Responses.newID("rs_"), text: reasoning, status: "completed")) }
        let calls = object["tool_calls"]?.array ?? []
        let text = object["content"]?.string ?? ""
        if !text.isEmpty || calls.isEmpty {
            items.append(messageItem(id: Responses.newID("msg_"), text: text, status: "completed", logprobs: logprobs))
        }
        for call in calls {
            let function = call.object?["function"]?.object ?? [:]
            items.append(functionCallItem(id: Responses.newID("fc_"), callID: call.object?["id"]?.string ?? Responses.newID("call_"),
                                          name: function["name"]?.string ?? "", arguments: function["arguments"]?.string ?? "",
                                          status: "completed"))
        }
        if lastStatus != "completed", case .object(var last)? = items.last {
            last["status"] = .string(lastStatus)
            items[items.count - 1] = .object(last)
        }
        return items
    }

    static func messageItem(id: String, text: String?, status: String, logprobs: [JSONValue] = []) -> JSONValue {
        .object(["id": .string(id), "type": .string("message"), "role": .string("assistant"), "status": .string(status),
                 "content": .array(text.map { [textPart($0, logprobs: logprobs)] } ?? [])])
    }

    static func textPart(_ text: String, logprobs: [JSONValue] = []) -> JSONValue {
        .object(["type": .string("output_text"), "text": .string(text), "annotations": .array([]), "logprobs": .array(logprobs)])
    }

    static func reasoningItem(id: String, text: String?, status: String) -> JSONValue {
        .object(["id": .string(id), "type": .string("reasoning"), "summary": .array([]),
                 "content": .array(text.map { [reasoningPart($0)] } ?? []), "encrypted_content": .null, "status": .string(status)])
    }

    static func reasoningPart(_ text: String) -> JSONValue { .object(["type": .string("reasoning_text"), "text": .string(text)]) }

    static func functionCallItem(id: String, callID: String, name: String, arguments: String, status: String) -> JSONValue {
        .object(["id": .string(id), "type": .string("function_call"), "call_id": .string(callID), "name": .string(name),
                 "arguments": .string(arguments), "status": .string(status)])
    }
}
