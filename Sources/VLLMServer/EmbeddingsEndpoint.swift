import Foundation
import Hummingbird
import VLLMEngine
import VLLMJSON

/// `POST /v1/embeddings` (vLLM's `EmbeddingCompletionRequest` and `EmbeddingChatRequest`): `input` as a string, a
/// list of strings, token ids or lists of them, or `messages` through the chat template; `encoding_format` float or
/// base64 (little-endian float32, as OpenAI's); `dimensions` for Matryoshka models only.
struct EmbeddingsEndpoint: Sendable {
    let server: ServerContext

    static let knownKeys: Set<String> = [
        "model", "input", "messages", "encoding_format", "dimensions", "user", "truncate_prompt_tokens", "add_special_tokens",
        "priority", "request_id", "normalize", "add_generation_prompt", "continue_final_message", "chat_template",
        "chat_template_kwargs",
    ]

    func handle(_ fields: RequestFields) async throws -> Response {
        fields.warnUnknown(Self.knownKeys, logger: server.logger)
        let model = try server.checkModel(fields)
        try server.checkPooling("Embeddings API")
        let format = try fields.string("encoding_format") ?? "float"
        guard format == "float" || format == "base64" else {
            throw APIError.invalid("encoding_format must be 'float' or 'base64', got '\(format)'", param: "encoding_format")
        }
        let parameters = try server.poolingParameters(fields)
        let prompts: [[Int32]]
        if fields["messages"] != nil {
            if fields["input"] != nil { throw APIError.invalid("give either 'input' or 'messages', not both", param: "messages") }
            prompts = [try await chatPrompt(fields)]
        } else {
            prompts = try await CompletionsEndpoint(server: server).promptList(fields, key: "input").ids
        }
        let outputs = try await server.pool(prompts, parameters: parameters, priority: try fields.int("priority") ?? 0)
        let data: [JSONValue] = outputs.enumerated().map { index, output in
            let vector = output.embedding ?? []
            let encoded: JSONValue = format == "base64" ? .string(Self.base64(vector)) : .array(vector.map { .number(Double($0)) })
            return .object(["index": Responses.number(index), "object": .string("embedding"), "embedding": encoded])
        }
        let promptTokens = outputs.reduce(0) { $0 + $1.promptTokenCount }
        return Responses.json(.object(["id": .string(Responses.newID("embd-")), "object": .string("list"), "created": Responses.created,
                                       "model": .string(model), "data": .array(data),
                                       "usage": ServerContext.poolingUsage(promptTokens: promptTokens)]))
    }

    /// The conversation rendered by the model's chat template (vLLM's embedding chat request: no generation prompt
    /// by default), then tokenized without added special tokens unless asked.
    private func chatPrompt(_ fields: RequestFields) async throws -> [Int32] {
        guard let messages = fields["messages"]?.array, !messages.isEmpty else {
            throw APIError.invalid("'messages' must be a non-empty array", param: "messages")
        }
        if try fields.string("chat_template") != nil {
            throw APIError.invalid("a per-request 'chat_template' is not accepted; start the server with --chat-template", param: "chat_template")
        }
        let chat = ChatRequest(messages: messages, addGenerationPrompt: try fields.bool("add_generation_prompt") ?? false,
                               continueFinalMessage: try fields.bool("continue_final_message") ?? false,
                               templateArguments: try fields.object("chat_template_kwargs") ?? [:])
        let text = try await server.renderChat(chat)
        return await server.tokenize(text, addSpecialTokens: try fields.bool("add_special_tokens") ?? false)
    }

    /// The vector's float32 bytes, little-endian, in base64.
    static func base64(_ vector: [Float]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(vector.count * 4)
        for value in vector {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        return Data(bytes).base64EncodedString()
    }
}
