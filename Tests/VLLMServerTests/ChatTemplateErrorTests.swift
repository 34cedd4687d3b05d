import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMChatTemplates
import VLLMServer

/// A real chat template behind the endpoints: a template that fails is an OpenAI-shaped error (400 when the request
/// is at fault, 500 when the server's template is), never a crash, and the server keeps serving.
struct ChatTemplateErrorTests {
    static func app(_ template: String, limits: TemplateLimits = .default) throws -> some ApplicationProtocol {
        makeApp(backend: FakeBackend(chat: try ChatFormatter(source: template, bosToken: "<s>", eosToken: "</s>", limits: limits)))
    }

    static let plain = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"
    static let chat = #"{"model": "fake", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}"#
    static let tokenize = #"{"model": "fake", "messages": [{"role": "user", "content": "Hi"}]}"#

    static func error(_ body: [String: Any]) -> [String: Any] { body["error"] as? [String: Any] ?? [:] }

    @Test func aRealTemplateRendersForChatAndTokenize() async throws {
        try await Self.app(Self.plain).test(.router) { client in
            let (status, _, _) = try await post(client, "/v1/chat/completions", Self.chat)
            #expect(status == .ok)
            let (_, tokens, _) = try await post(client, "/tokenize", Self.tokenize)
            #expect(tokens["tokens"] as? [Int] == "<user>Hi<assistant>".utf8.map { Int($0) })
        }
    }

    /// Each of these took the server down (stack overflow, integer traps, allocation abort, 19 GB of memory).
    @Test(arguments: [
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
        "{{ (2**62) * 4 }}",
        "{{ messages[10**20] }}",
        "{{ 'x'|indent(1000000000000) }}",
        "{% for i in range(10**9) %}x{% endfor %}",
        "{{ messages[0].nothing.deeper }}",
    ])
    func aFailingTemplateIs500AndTheServerStaysUp(_ template: String) async throws {
        try await Self.app(template).test(.router) { client in
            for (uri, body) in [("/v1/chat/completions", Self.chat), ("/tokenize", Self.tokenize)] {
                let (status, reply, _) = try await post(client, uri, body)
                #expect(status == .internalServerError, "\(uri): \(reply)")
                let error = Self.error(reply)
                #expect(error["code"] as? Int == 500 && error["type"] as? String == "InternalServerError")
                #expect((error["message"] as? String)?.contains("chat template") == true, "\(error)")
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            let (status, _, _) = try await post(client, "/v1/completions", #"{"model": "fake", "prompt": "Hi", "max_tokens": 2}"#)
            #expect(status == .ok, "other requests are still served")
        }
    }

    @Test func aTemplateThatRefusesTheConversationIs400() async throws {
        let template = "{% if messages[0].role != 'system' %}{{ raise_exception('The first message must be a system message.') }}{% endif %}ok"
        try await Self.app(template).test(.router) { client in
            let (status, reply, _) = try await post(client, "/v1/chat/completions", Self.chat)
            #expect(status == .badRequest)
            let error = Self.error(reply)
            #expect(error["code"] as? Int == 400 && error["param"] as? String == "messages")
            #expect((error["message"] as? String)?.contains("The first message must be a system message.") == true)
        }
    }

    @Test func aTemplateFailingOnTheClientsTemplateKwargsIs400() async throws {
        try await Self.app("{{ style.name.upper() }}").test(.router) { client in
            let body = #"{"model": "fake", "messages": [{"role": "user", "content": "Hi"}], "chat_template_kwargs": {"style": 3}}"#
            let (status, reply, _) = try await post(client, "/v1/chat/completions", body)
            #expect(status == .badRequest)
            #expect(Self.error(reply)["param"] as? String == "chat_template_kwargs")
        }
    }

    @Test(arguments: [
        (#"[{"role": "user", "content": 5}]"#, "messages"),
        (#"[{"role": "user", "content": [5]}]"#, "messages"),
        (#"[{"role": "user"}], "tools": [1]"#, "tools"),
        (#"[{"role": "user"}], "tools": [{"type": "function", "function": {}}]"#, "tools"),
        (#"[{"role": "robot", "content": "x"}]"#, "messages"),
    ])
    func aMalformedConversationIs400BeforeRendering(_ messages: String, _ param: String) async throws {
        // The template would fail on any input: a 400 shows the request was refused before rendering.
        try await Self.app("{{ raise_exception('rendered') }}").test(.router) { client in
            for uri in ["/v1/chat/completions", "/tokenize"] {
                let (status, reply, _) = try await post(client, uri, #"{"model": "fake", "messages": \#(messages)}"#)
                #expect(status == .badRequest, "\(uri) \(messages)")
                #expect(Self.error(reply)["param"] as? String == param, "\(uri) \(messages): \(reply)")
                #expect((Self.error(reply)["message"] as? String)?.contains("rendered") == false)
            }
        }
    }
}
