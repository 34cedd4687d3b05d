import Foundation
import Hummingbird
import VLLMEngine
import VLLMJSON

/// `/v1/models`, `/health`, `/version`, `/load`, `/metrics`, `/tokenize`, `/detokenize`.
struct InfoEndpoints: Sendable {
    let server: ServerContext

    func models() -> Response {
        let created = Responses.created
        let data: [JSONValue] = server.configuration.servedModelNames.map { name in
            .object(["id": .string(name), "object": .string("model"), "created": created, "owned_by": .string("vllm"),
                     "root": .string(server.configuration.primaryModelName), "parent": .null,
                     "max_model_len": Responses.number(server.backend.limits.maxModelLength), "permission": .array([])])
        }
        return Responses.json(.object(["object": .string("list"), "data": .array(data)]))
    }

    /// 200 while the engine runs and takes requests; 503 once it is dead or draining for shutdown, so that a
    /// load balancer stops sending work here.
    func health() throws -> Response {
        let s = server.backend.snapshot
        guard s.isAlive, s.isAcceptingRequests else {
            throw APIError(status: .serviceUnavailable, message: s.isAlive ? "The server is shutting down." : "The engine is not running.")
        }
        return Response(status: .ok)
    }

    func version() -> Response { Responses.json(.object(["version": .string(server.configuration.version)])) }

    func load() -> Response {
        let s = server.backend.snapshot
        return Responses.json(.object(["server_load": Responses.number(s.running + s.waiting)]))
    }

    func metrics() -> Response {
        server.metrics.update(from: server.backend.snapshot)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: server.metrics.render())))
    }

    /// `{model, prompt, add_special_tokens}` or `{model, messages, add_generation_prompt}` → `{tokens, count, max_model_len}`.
    func tokenize(_ fields: RequestFields) async throws -> Response {
        fields.warnUnknown(["model", "prompt", "add_special_tokens", "messages", "add_generation_prompt", "continue_final_message",
                            "chat_template_kwargs", "tools", "return_token_strs"], logger: server.logger)
        _ = try server.checkModel(fields)
        let tokens: [Int32]
        if let prompt = try fields.string("prompt") {
            tokens = await server.tokenize(prompt, addSpecialTokens: try fields.bool("add_special_tokens") ?? true)
        } else if let messages = fields["messages"]?.array {
            let chat = ChatRequest(messages: messages, tools: fields["tools"]?.array,
                                   addGenerationPrompt: try fields.bool("add_generation_prompt") ?? true,
                                   continueFinalMessage: try fields.bool("continue_final_message") ?? false,
                                   templateArguments: try fields.object("chat_template_kwargs") ?? [:])
            let text = try await server.renderChat(chat)
            tokens = await server.tokenize(text, addSpecialTokens: try fields.bool("add_special_tokens") ?? false)
        } else {
            throw APIError.invalid("give 'prompt' or 'messages'", param: "prompt")
        }
        return Responses.json(.object(["tokens": .array(tokens.map { .number(Double($0)) }), "count": Responses.number(tokens.count),
                                       "max_model_len": Responses.number(server.backend.limits.maxModelLength)]))
    }

    /// `{model, tokens}` → `{prompt}`.
    func detokenize(_ fields: RequestFields) async throws -> Response {
        fields.warnUnknown(["model", "tokens"], logger: server.logger)
        _ = try server.checkModel(fields)
        guard let ids = try fields.ints("tokens") else { throw APIError.invalid("'tokens' is required", param: "tokens") }
        let vocabulary = server.backend.limits.vocabularySize
        if let bad = ids.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw APIError.invalid("token id \(bad) is out of vocabulary (0..<\(vocabulary))", param: "tokens")
        }
        let text = await server.detokenize(ids.map { Int32($0) }, skipSpecialTokens: false)
        return Responses.json(.object(["prompt": .string(text)]))
    }
}
