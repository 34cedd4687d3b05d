import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMServer

/// Chat's `echo` (vLLM's extension): the answer starts with the last message's content when that message has the
/// answer's role: the assistant's, or with `add_generation_prompt: false` the last message's own.
struct ChatEchoTests {
    static let continued = #""messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Sure: "}]"#

    static func message(_ body: [String: Any]) -> [String: Any] {
        ((body["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any]) ?? [:]
    }

    @Test func theLastMessageLeadsTheAnswer() async throws {
        try await makeApp().test(.router) { client in
            let (status, body, _) = try await post(client, "/v1/chat/completions",
                #"{"model": "fake", \#(Self.continued), "add_generation_prompt": false, "echo": true, "max_tokens": 2}"#)
            #expect(status == .ok)
            #expect(Self.message(body)["content"] as? String == "Sure: he")
            #expect((body["prompt_logprobs"] as? [Any])?.first is NSNull, "as vLLM: echo asks for the prompt's logprobs")
            let (_, user, _) = try await post(client, "/v1/chat/completions",
                #"{"model": "fake", "messages": [{"role": "user", "content": "Hi"}], "echo": true, "max_tokens": 2}"#)
            #expect(Self.message(user)["content"] as? String == "he", "the user's message is not the assistant's to echo")
            let (_, plain, _) = try await post(client, "/v1/chat/completions",
                #"{"model": "fake", \#(Self.continued), "add_generation_prompt": false, "max_tokens": 2}"#)
            #expect(Self.message(plain)["content"] as? String == "he")
            #expect(plain["prompt_logprobs"] is NSNull)
        }
    }

    @Test func streamedTheEchoFollowsTheRole() async throws {
        try await makeApp().test(.router) { client in
            let raw = try await client.execute(uri: "/v1/chat/completions", method: .post, body: ByteBuffer(string:
                #"{"model": "fake", \#(Self.continued), "add_generation_prompt": false, "echo": true, "max_tokens": 2, "stream": true}"#)) {
                String(buffer: $0.body)
            }
            let deltas = raw.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }.map {
                ((json(ByteBuffer(string: String($0.dropFirst("data: ".count))))["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]) ?? [:]
            }
            #expect(deltas.first?["role"] as? String == "assistant")
            #expect(deltas.compactMap { $0["content"] as? String }.joined() == "Sure: he")
            #expect(deltas.dropFirst().first?["content"] as? String == "Sure: ")
        }
    }
}
