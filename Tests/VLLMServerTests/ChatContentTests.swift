import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMChatTemplates
import VLLMServer

/// `content: null` (or no content) in a message reaches the template as vLLM's conversation parsing hands it:
/// `""` for templates that read a string, `[]` for templates that read content parts. A ChatML template adding
/// `message['content']` to a string failed on null with "unsupported operand type(s) for +: 'str' and 'NoneType'".
struct ChatContentTests {
    /// SmolLM2's / Qwen's ChatML shape, with string concatenation as those templates write it.
    static let chatML = """
        {% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}\
        {% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
        """
    /// A Llama-3 shape: `message['content'] | trim` after a header.
    static let llama = """
        {{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}\
        {% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}
        """
    /// A template that reads content as a list of parts.
    static let parts = "{% for m in messages %}[{{ m.role }}:{% for p in m.content %}{{ p.text }}{% endfor %}]{% endfor %}"

    static func render(_ template: String, _ messages: String) async throws -> (HTTPResponse.Status, String?, String) {
        let backend = FakeBackend(chat: try ChatFormatter(source: template, bosToken: "<s>", eosToken: "</s>"))
        return try await makeApp(backend: backend).test(.router) { client in
            // /tokenize renders as the chat endpoint does, without the fake model's 64-token context.
            let (status, _, raw) = try await post(client, "/tokenize", #"{"messages": \#(messages)}"#)
            return (status, backend.lastChatPrompt.withLock { $0 }, raw)
        }
    }

    static let conversations = [
        #"[{"role": "user", "content": null}]"#,
        #"[{"role": "system"}, {"role": "user", "content": "Hi"}]"#,
        #"[{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]}, {"role": "tool", "content": "sunny", "tool_call_id": "c1"}]"#,
    ]

    @Test(arguments: conversations)
    func chatMLRendersNullContentAsEmpty(_ messages: String) async throws {
        let (status, prompt, raw) = try await Self.render(Self.chatML, messages)
        #expect(status == .ok, "\(raw)")
        #expect(prompt?.contains("None") == false)
    }

    @Test func nullContentIsTheEmptyString() async throws {
        let (status, prompt, _) = try await Self.render(Self.chatML, #"[{"role": "user", "content": null}]"#)
        #expect(status == .ok)
        #expect(prompt == "<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n")
        let (llamaStatus, llamaPrompt, raw) = try await Self.render(Self.llama, #"[{"role": "system"}, {"role": "user", "content": "Hi"}]"#)
        #expect(llamaStatus == .ok, "\(raw)")
        #expect(llamaPrompt == "<s><|start_header_id|>system<|end_header_id|>\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
    }

    @Test func theChatEndpointAnswersAMessageWithNullContent() async throws {
        let backend = FakeBackend(chat: try ChatFormatter(source: Self.chatML, bosToken: "<s>", eosToken: "</s>"))
        try await makeApp(backend: backend).test(.router) { client in
            let (status, _, raw) = try await post(client, "/v1/chat/completions", #"{"messages": [{"role": "user", "content": null}], "max_tokens": 1}"#)
            #expect(status == .ok, "\(raw)")
        }
    }

    @Test func nullContentIsNoPartsForPartsTemplates() async throws {
        let (status, prompt, raw) = try await Self.render(Self.parts, #"[{"role": "user", "content": null}, {"role": "user", "content": [{"type": "text", "text": "x"}]}]"#)
        #expect(status == .ok, "\(raw)")
        #expect(prompt == "[user:][user:x]")
    }
}
