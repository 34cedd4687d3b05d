import Foundation
import VLLMJSON
import Hummingbird
import VLLMChatTemplates

/// Chat rendering for every endpoint that takes `messages` (`/v1/chat/completions`, `/tokenize`): one place checks
/// the conversation's shape, renders it and turns a template's failure into the right HTTP error.
extension ServerContext {
    /// The prompt text of `chat`.
    /// - 400 when the request is at fault: a malformed conversation, a template that refuses it with
    ///   `raise_exception` (e.g. "roles must alternate"), or a template that fails on variables the client set
    ///   through `chat_template_kwargs`; also when the model has no chat template, as vLLM answers.
    /// - 500 when the server's template is at fault: it fails on a well-formed conversation or exceeds the sandbox's
    ///   limits (time, recursion, sizes); 503 when every template thread stayed busy.
    func renderChat(_ chat: ChatRequest) async throws(APIError) -> String {
        try Self.validate(chat)
        do {
            return try await backend.renderChat(chat)
        } catch let error as APIError {
            throw error
        } catch let error as TemplateError {
            switch error.kind {
            case .raised:
                throw APIError.invalid("The chat template refused the conversation: \(error.message)", param: "messages")
            case .runtime where !chat.templateArguments.isEmpty:
                throw APIError.invalid("The chat template failed with these chat_template_kwargs: \(error)", param: "chat_template_kwargs")
            case .overloaded:
                throw APIError(status: .serviceUnavailable, message: "The server is overloaded: \(error.message). Retry later.")
            case .syntax, .runtime, .limit:
                logger.error("chat template failed: \(error)")
                throw APIError(status: .internalServerError, message: "The server's chat template failed: \(error)")
            }
        } catch let error as ChatFormatterError {
            throw APIError.invalid(error.description, param: "messages")
        } catch {
            logger.error("chat rendering failed: \(error)")
            throw APIError(status: .internalServerError, message: "Rendering the chat failed: \(error)")
        }
    }

    static let roles: Set<String> = ["system", "user", "assistant", "tool", "developer"]

    /// OpenAI's shapes, as vLLM's request models check them: each message an object with a known role and content
    /// that is absent, null, a string or a list of typed parts; each tool a function with a name.
    static func validate(_ chat: ChatRequest) throws(APIError) {
        for (i, message) in chat.messages.enumerated() {
            guard let object = message.object, let role = object["role"]?.string else {
                throw APIError.invalid("messages[\(i)] must be an object with a 'role'", param: "messages")
            }
            guard roles.contains(role) else {
                throw APIError.invalid("messages[\(i)].role '\(role)' is not one of system, user, assistant, tool, developer", param: "messages")
            }
            switch object["content"] {
            case nil, .null?, .string?: break
            case let .array(parts)?:
                if let bad = parts.firstIndex(where: { $0.object?["type"]?.string == nil }) {
                    throw APIError.invalid("messages[\(i)].content[\(bad)] must be an object with a 'type'", param: "messages")
                }
            default:
                throw APIError.invalid("messages[\(i)].content must be a string or a list of content parts", param: "messages")
            }
            // Arguments reach the template parsed (`ChatFormatter.decodingArguments`), as vLLM's json.loads does.
            for (j, call) in (object["tool_calls"]?.array ?? []).enumerated() {
                if let text = call.object?["function"]?.object?["arguments"]?.string, !text.isEmpty,
                   (try? JSONParser.parse(Data(text.utf8))) == nil {
                    throw APIError.invalid("messages[\(i)].tool_calls[\(j)].function.arguments is not valid JSON", param: "messages")
                }
            }
        }
        for (i, tool) in (chat.tools ?? []).enumerated() {
            guard let object = tool.object, object["type"].map({ $0.string == "function" }) ?? true,
                  let function = object["function"]?.object, function["name"]?.string != nil else {
                throw APIError.invalid("tools[\(i)] must be {\"type\": \"function\", \"function\": {\"name\": ...}}", param: "tools")
            }
        }
    }
}
