import Foundation
import Hummingbird
import VLLMEngine
import VLLMJSON

/// `POST /v1/chat/completions`: the conversation goes through the model's chat template.
struct ChatCompletionsEndpoint: Sendable {
    let server: ServerContext

    static let knownKeys = RequestFields.samplingKeys.union([
        "messages", "max_completion_tokens", "logprobs", "top_logprobs", "add_generation_prompt", "continue_final_message",
        "chat_template", "chat_template_kwargs", "tools", "tool_choice", "parallel_tool_calls", "documents",
        "echo", "reasoning_effort", "include_reasoning",
    ])

    /// A chat request read, checked, rendered and tokenized: what every answer shape starts from.
    struct Prepared {
        let model: String
        let chat: ChatRequest
        let toolChoice: ToolChoice
        let reader: ChatOutputReader
        let promptIDs: [Int32]
        /// The sampling fields, a required or named tool choice's constraint included.
        var parameters: SamplingParameters
    }

    /// Reads `fields` as a chat request up to its sampling parameters (unknown fields warned about when `known` is
    /// given: the Responses API checks its own).
    func prepare(_ fields: RequestFields, known: Set<String>? = ChatCompletionsEndpoint.knownKeys,
                 api: String = "Chat Completions API") async throws -> Prepared {
        if let known { fields.warnUnknown(known, logger: server.logger) }
        let model = try server.checkModel(fields)
        try server.checkGenerative(api)
        guard let messages = fields["messages"]?.array, !messages.isEmpty else {
            throw APIError.invalid("'messages' must be a non-empty array", param: "messages")
        }
        if let tools = fields["tools"], tools.array == nil { throw RequestFields.type("tools", "an array of tools", tools) }
        if try fields.string("chat_template") != nil {
            throw APIError.invalid("a per-request 'chat_template' is not accepted; start the server with --chat-template", param: "chat_template")
        }
        var templateArguments = try fields.object("chat_template_kwargs") ?? [:]
        if let effort = try fields.string("reasoning_effort") {
            // vLLM's literal; the template sees it (as newer vLLM passes it) unless chat_template_kwargs sets it.
            guard ["low", "medium", "high"].contains(effort) else {
                throw APIError.invalid("reasoning_effort must be 'low', 'medium' or 'high', got '\(effort)'", param: "reasoning_effort")
            }
            if templateArguments["reasoning_effort"] == nil { templateArguments["reasoning_effort"] = .string(effort) }
        }
        let chat = ChatRequest(messages: messages, tools: fields["tools"]?.array, documents: fields["documents"]?.array,
                               addGenerationPrompt: try fields.bool("add_generation_prompt") ?? true,
                               continueFinalMessage: try fields.bool("continue_final_message") ?? false,
                               templateArguments: templateArguments)
        if chat.addGenerationPrompt && chat.continueFinalMessage {
            throw APIError.invalid("add_generation_prompt and continue_final_message cannot both be true", param: "continue_final_message")
        }
        try ServerContext.validate(chat)
        let toolChoice = try ToolChoice.from(fields, tools: chat.tools)
        let reader = try outputReader(fields, chat: chat, toolChoice: toolChoice)
        let promptText = try await server.renderChat(chat)
        // vLLM's chat default: the template already wrote BOS where the model wants it.
        let rendered = await server.tokenize(promptText, addSpecialTokens: try fields.bool("add_special_tokens") ?? false)
        let keep = try fields.truncatePromptTokens(maxModelLength: server.backend.limits.maxModelLength)
        let promptIDs = keep.map { Array(rendered.suffix($0)) } ?? rendered
        var parameters = try fields.samplingParameters(maxTokensKeys: ["max_tokens", "max_completion_tokens"],
                                                       defaults: server.configuration.samplingDefaults)
        if let constraint = try toolChoice.structuredOutputs(tools: chat.tools ?? []) {
            // vLLM constrains a required or named tool choice by its own schema; a second constraint cannot also hold.
            if parameters.structuredOutputs != nil {
                throw APIError.invalid("tool_choice 'required' or a named function constrains the output to tool calls; it cannot be combined with response_format or structured_outputs", param: "tool_choice")
            }
            parameters.structuredOutputs = constraint
        }
        if toolChoice != .none, server.configuration.toolParser?.needsSpecialTokens == true { parameters.skipSpecialTokens = false }
        return Prepared(model: model, chat: chat, toolChoice: toolChoice, reader: reader, promptIDs: promptIDs, parameters: parameters)
    }

    func handle(_ fields: RequestFields) async throws -> Response {
        let prepared = try await prepare(fields)
        let (model, chat, reader, promptIDs) = (prepared.model, prepared.chat, prepared.reader, prepared.promptIDs)
        var parameters = prepared.parameters
        let wantLogprobs = try fields.bool("logprobs") ?? false
        let topLogprobs = try fields.int("top_logprobs")
        if topLogprobs != nil && !wantLogprobs { throw APIError.invalid("top_logprobs requires logprobs to be true", param: "top_logprobs") }
        if wantLogprobs { parameters.logprobs = topLogprobs ?? 0 }
        // vLLM's `echo`: the answer starts with the last message's content when that message has the answer's role
        // (and, as in vLLM, an answer echoed whole carries the prompt's logprobs).
        let echo = try fields.bool("echo") == true ? Self.echoedContent(chat) : nil
        let stream = try fields.bool("stream") ?? false
        if echo != nil && !stream && parameters.promptLogprobs == nil { parameters.promptLogprobs = topLogprobs ?? 0 }
        let choices = try await server.prepare(prompts: [promptIDs], parameters: parameters)
        let id = try fields.responseID("chatcmpl-"), created = Responses.created
        server.logReceived(id, choices)
        let priority = try fields.int("priority") ?? 0
        if let search = try fields.beamSearch(parameters, maxTokens: choices.first?.parameters.maxTokens ?? 16) {
            return try await beamSearchResponse(search, choices: choices, reader: reader, stream: stream, wantLogprobs: wantLogprobs,
                                                echo: echo, priority: priority, response: (id, created, model))
        }
        let runner = server.runner
        if !stream {
            let results = try await runner.gather(choices, priority: priority)
            let body: [JSONValue] = zip(choices, results).map { choice, result in
                var (message, finishReason) = reader.message(result.text, finishReason: Responses.finishReason(result.finishReason).string ?? "stop")
                if let echo, case .object(var object) = message {
                    object["content"] = .string(echo + (object["content"]?.string ?? ""))
                    message = .object(object)
                }
                return .object(["index": Responses.number(choice.index), "message": message,
                                "logprobs": wantLogprobs ? logprobs(result.logprobs) : .null,
                                "finish_reason": .string(finishReason), "stop_reason": .null])
            }
            let completion = results.reduce(0) { $0 + $1.tokenIDs.count }
            // vLLM's extension: the prompt's logprobs once, beside the choices.
            let promptLogprobs = results.first?.promptLogprobs.map(LogprobsJSON(backend: server.backend).promptLogprobs) ?? .null
            return Responses.json(.object(["id": .string(id), "object": .string("chat.completion"), "created": created, "model": .string(model),
                                           "choices": .array(body), "usage": Responses.usage(prompt: promptIDs.count, completion: completion),
                                           "prompt_logprobs": promptLogprobs]))
        }
        let includeUsage = try fields.object("stream_options")?["include_usage"]?.bool ?? false
        return Responses.eventStream { send in
            func chunk(_ choices: [JSONValue], usage: JSONValue? = nil) -> JSONValue {
                var object: JSONObject = ["id": .string(id), "object": .string("chat.completion.chunk"), "created": created,
                                                   "model": .string(model), "choices": .array(choices)]
                if includeUsage { object["usage"] = usage ?? .null }
                return .object(object)
            }
            for choice in choices {
                try await send(chunk([.object(["index": Responses.number(choice.index),
                                               "delta": .object(["role": .string("assistant"), "content": .string("")]),
                                               "logprobs": .null, "finish_reason": .null])]))
            }
            for choice in choices {
                guard let echo, !echo.isEmpty else { break }
                try await send(chunk([.object(["index": Responses.number(choice.index), "delta": .object(["content": .string(echo)]),
                                               "logprobs": .null, "finish_reason": .null])]))
            }
            var completion = 0
            var streams = choices.map { _ in ChatDeltaStream(reader: reader) }
            for try await (index, output) in runner.merged(choices, priority: priority) {
                completion += output.tokenIDs.count
                var delta = streams[index].feed(output.text)
                var finishReason = Responses.finishReason(output.finishReason)
                if let reason = finishReason.string {
                    delta.merge(streams[index].finish(), uniquingKeysWith: ChatDeltaStream.joined)
                    let called = streams[index].calledTools
                    finishReason = .string(reader.toolChoice.finishesWithToolCalls(called: called, finishReason: reason) ? "tool_calls" : reason)
                }
                if delta.isEmpty && output.finishReason == nil && !wantLogprobs { continue }
                try await send(chunk([.object(["index": Responses.number(index), "delta": .object(delta),
                                               "logprobs": wantLogprobs ? logprobs(output.logprobs) : .null,
                                               "finish_reason": finishReason])]))
            }
            if includeUsage { try await send(chunk([], usage: Responses.usage(prompt: promptIDs.count, completion: completion))) }
        }
    }

    /// What `echo` puts before the answer: the last message's text (its text parts joined by newlines) when its role
    /// is the answer's (the assistant's, or with `add_generation_prompt: false` the last message's own), else "".
    static func echoedContent(_ chat: ChatRequest) -> String {
        guard let last = chat.messages.last else { return "" }
        let role = chat.addGenerationPrompt ? "assistant" : last.object?["role"]?.string
        guard last.object?["role"]?.string == role else { return "" }
        return ChatFormatter.text(of: last) ?? ""
    }

    /// How the choices' text becomes answers: the server's reasoning parser, and the tool parser `tool_choice`
    /// calls for (400 for `auto` on a server started without tool calling, with vLLM's message).
    func outputReader(_ fields: RequestFields, chat: ChatRequest, toolChoice: ToolChoice) throws(APIError) -> ChatOutputReader {
        let configuration = server.configuration
        if toolChoice == .auto && !(configuration.enableAutoToolChoice && configuration.toolParser != nil) {
            throw APIError.invalid("\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set", param: "tool_choice")
        }
        var reader = ChatOutputReader()
        reader.reasoning = configuration.reasoningParser
        reader.includeReasoning = try fields.bool("include_reasoning") ?? true
        reader.thinkingEnabled = chat.templateArguments["enable_thinking"].map { $0 != .bool(false) && $0 != .null } ?? true
        reader.toolChoice = toolChoice
        reader.toolParser = toolChoice.parser(auto: configuration.toolParser)
        reader.parallelToolCalls = try fields.bool("parallel_tool_calls") ?? true
        return reader
    }

    /// The Responses API's `output_text` logprobs: chat's entries, without the `content` wrapper.
    func outputTextLogprobs(_ entries: [TokenLogprobs]) -> [JSONValue] {
        entries.isEmpty ? [] : logprobs(entries).object?["content"]?.array ?? []
    }

    /// Chat-style logprobs: `{"content": [{token, logprob, bytes, top_logprobs}]}`.
    func logprobs(_ entries: [TokenLogprobs]) -> JSONValue {
        func item(_ id: Int32, _ logprob: Float) -> JSONObject {
            let text = server.backend.detokenize([id], skipSpecialTokens: false)
            return ["token": .string(text), "logprob": LogprobsJSON.number(logprob),
                    "bytes": .array(Array(text.utf8).map { .number(Double($0)) })]
        }
        return .object(["content": .array(entries.map { entry in
            var object = item(entry.tokenID, entry.logprob)
            object["top_logprobs"] = .array(entry.top.map { .object(item($0.id, $0.logprob)) })
            return .object(object)
        })])
    }
}
