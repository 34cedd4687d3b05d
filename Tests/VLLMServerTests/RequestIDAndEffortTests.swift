import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMServer

/// vLLM's `request_id` (the `X-Request-Id` header first, then the body's field) names the response, and chat's
/// `reasoning_effort` reaches the template; OpenAI fields vLLM's chat does not declare (`metadata`, `store`, ...) are
/// ignored with its warning, like any unknown field.
struct RequestIDAndEffortTests {
    @Test func theRequestIDNamesTheResponse() async throws {
        try await makeApp().test(.router) { client in
            let (_, chat, _) = try await post(client, "/v1/chat/completions",
                #"{"model": "fake", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1, "request_id": "body-1"}"#)
            #expect(chat["id"] as? String == "chatcmpl-body-1")
            let (_, completion, _) = try await post(client, "/v1/completions", #"{"model": "fake", "prompt": "Hi", "max_tokens": 1, "request_id": "body-2"}"#,
                                                    headers: [.init("X-Request-Id")!: "header-2"])
            #expect(completion["id"] as? String == "cmpl-header-2", "the header wins, as in vLLM")
            let (_, plain, _) = try await post(client, "/v1/completions", #"{"model": "fake", "prompt": "Hi", "max_tokens": 1}"#)
            #expect((plain["id"] as? String)?.count == "cmpl-".count + 32)
        }
    }

    @Test func reasoningEffortReachesTheTemplate() async throws {
        let template = "{{ reasoning_effort | default('unset') }}:{% for m in messages %}{{ m.content }}{% endfor %}"
        let backend = FakeBackend(chat: try ChatFormatter(source: template, bosToken: "<s>", eosToken: "</s>"))
        try await makeApp(backend: backend).test(.router) { client in
            let messages = #""messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1"#
            let (ok, _, _) = try await post(client, "/v1/chat/completions", #"{"model": "fake", \#(messages), "reasoning_effort": "low"}"#)
            #expect(ok == .ok && backend.lastChatPrompt.withLock { $0 } == "low:Hi")
            _ = try await post(client, "/v1/chat/completions",
                               #"{"model": "fake", \#(messages), "reasoning_effort": "low", "chat_template_kwargs": {"reasoning_effort": "high"}}"#)
            #expect(backend.lastChatPrompt.withLock { $0 } == "high:Hi", "chat_template_kwargs win")
            let (bad, body, _) = try await post(client, "/v1/chat/completions", #"{"model": "fake", \#(messages), "reasoning_effort": "max"}"#)
            #expect(bad == .badRequest && (body["error"] as? [String: Any])?["param"] as? String == "reasoning_effort")
        }
    }
}
