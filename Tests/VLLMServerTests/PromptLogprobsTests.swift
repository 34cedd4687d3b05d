import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMServer

/// `prompt_logprobs`, and the Completions API's `echo` with `logprobs` and with `max_tokens: 0`, in vLLM's shapes
/// (vLLM's serving_completion and protocol): the echoed prompt's positions lead `tokens` / `token_logprobs` /
/// `top_logprobs`, null at the first token; `prompt_logprobs` is null, then a map from token id to {logprob, rank,
/// decoded_token} with the prompt token first. The fake backend's tokens are bytes; its prompt token j scores 1,
/// token j - 1 0.5 and the other 254 of its vocabulary 0.
struct PromptLogprobsTests {
    /// The fake backend's logprob of a token scoring `logit` in a row with one 1, one 0.5 and 254 zeros.
    static func logprob(_ logit: Double) -> Double { logit - log(exp(1) + exp(0.5) + 254) }

    static func choice(_ body: [String: Any]) -> [String: Any] { (body["choices"] as? [[String: Any]])?.first ?? [:] }

    @Test func echoWithLogprobsScoresThePromptFirst() async throws {
        try await makeApp().test(.router) { client in
            let (status, body, _) = try await post(client, "/v1/completions",
                                                   #"{"model": "fake", "prompt": "Hey", "echo": true, "logprobs": 1, "max_tokens": 2}"#)
            #expect(status == .ok)
            let choice = Self.choice(body)
            #expect(choice["text"] as? String == "Heyhe")
            let logprobs = try #require(choice["logprobs"] as? [String: Any])
            #expect(logprobs["tokens"] as? [String] == ["H", "e", "y", "h", "e"])
            let values = try #require(logprobs["token_logprobs"] as? [Any])
            #expect(values.first is NSNull)
            for value in values[1..<3] { #expect(abs((value as? Double ?? 0) - Self.logprob(1)) < 1e-5) }
            let tops = try #require(logprobs["top_logprobs"] as? [Any])
            #expect(tops.first is NSNull)
            // logprobs 1: the position's token and the most likely one, here the same.
            #expect((tops[1] as? [String: Double]).map { Array($0.keys) } == ["e"])
            #expect(logprobs["text_offset"] as? [Int] == [0, 1, 2, 3, 4])
            let prompt = try #require(choice["prompt_logprobs"] as? [Any])
            #expect(prompt.count == 3 && prompt[0] is NSNull)
            let second = try #require(prompt[2] as? [String: [String: Any]])
            #expect(Set(second.keys) == ["121"], "'y' (121), rank 1, alone for prompt_logprobs 1")
            #expect(second["121"]?["rank"] as? Int == 1 && second["121"]?["decoded_token"] as? String == "y")
        }
    }

    @Test func explicitPromptLogprobsListTheTopTokensAfterThePromptToken() async throws {
        try await makeApp().test(.router) { client in
            let (status, body, _) = try await post(client, "/v1/completions",
                                                   #"{"model": "fake", "prompt": "Hey", "prompt_logprobs": 2, "max_tokens": 1}"#)
            #expect(status == .ok)
            #expect(Self.choice(body)["text"] as? String == "h", "no echo: the answer alone")
            #expect(Self.choice(body)["logprobs"] is NSNull)
            let prompt = try #require(Self.choice(body)["prompt_logprobs"] as? [Any])
            let first = try #require(prompt[1] as? [String: [String: Any]])
            // 'e' (101) is the prompt token and rank 1; 'H' (72) rank 2.
            #expect(first["101"]?["rank"] as? Int == 1 && first["72"]?["rank"] as? Int == 2 && first.count == 2)
            #expect(abs((first["72"]?["logprob"] as? Double ?? 0) - Self.logprob(0.5)) < 1e-5)
            let (chat, chatBody, _) = try await post(client, "/v1/chat/completions",
                                                     #"{"model": "fake", "messages": [{"role": "user", "content": "Hi"}], "prompt_logprobs": 0, "max_tokens": 1}"#)
            #expect(chat == .ok)
            let list = try #require(chatBody["prompt_logprobs"] as? [Any], "vLLM's chat answer carries them beside the choices")
            #expect(list.count == "<user>Hi<assistant>".utf8.count && list[0] is NSNull)
            let (_, plain, _) = try await post(client, "/v1/completions", #"{"model": "fake", "prompt": "Hey", "max_tokens": 1}"#)
            #expect(Self.choice(plain)["prompt_logprobs"] is NSNull)
        }
    }

    @Test func echoWithMaxTokensZeroAnswersWithThePromptAlone() async throws {
        try await makeApp().test(.router) { client in
            let (status, body, _) = try await post(client, "/v1/completions",
                                                   #"{"model": "fake", "prompt": "Hey", "echo": true, "logprobs": 0, "max_tokens": 0}"#)
            #expect(status == .ok)
            #expect(Self.choice(body)["text"] as? String == "Hey")
            let logprobs = try #require(Self.choice(body)["logprobs"] as? [String: Any])
            #expect(logprobs["tokens"] as? [String] == ["H", "e", "y"])
            let (refused, error, _) = try await post(client, "/v1/completions", #"{"model": "fake", "prompt": "Hey", "max_tokens": 0}"#)
            #expect(refused == .badRequest && ((error["error"] as? [String: Any])?["message"] as? String)?.hasPrefix("max_tokens must be at least 1") == true)
        }
    }

    /// Streamed, the echo waits for the prompt's logprobs and leads the first chunk; offsets run on across chunks.
    @Test func streamedEchoWithLogprobs() async throws {
        try await makeApp().test(.router) { client in
            let raw = try await client.execute(uri: "/v1/completions", method: .post, body: ByteBuffer(string:
                #"{"model": "fake", "prompt": "Hey", "echo": true, "logprobs": 1, "max_tokens": 2, "stream": true}"#)) { String(buffer: $0.body) }
            let chunks = raw.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }
                .map { Self.choice(json(ByteBuffer(string: String($0.dropFirst("data: ".count))))) }
            #expect(chunks.map { $0["text"] as? String } == ["Heyh", "e"])
            let first = try #require(chunks.first?["logprobs"] as? [String: Any])
            #expect(first["tokens"] as? [String] == ["H", "e", "y", "h"])
            #expect((first["token_logprobs"] as? [Any])?.first is NSNull)
            #expect((chunks.last?["logprobs"] as? [String: Any])?["text_offset"] as? [Int] == [4])
        }
    }

    @Test(arguments: [
        (#""prompt_logprobs": -2"#, "prompt_logprobs must be non-negative or -1, got -2."),
        (#""prompt_logprobs": 21"#, "Requested prompt logprobs of 21, which is greater than max allowed: 20"),
        (#""prompt_logprobs": -1"#, "Requested prompt logprobs of -1 (the whole vocabulary), which is greater than max allowed: 20"),
        (#""prompt_logprobs": 1, "stream": true"#, "`prompt_logprobs` are not available when `stream=True`."),
    ])
    func outOfRangeValuesAre400(_ extra: String, _ message: String) async throws {
        try await ParameterTests.app().test(.router) { client in
            try await ParameterTests.each(client, extra) { uri, status, text, param in
                #expect(status == .badRequest && param == "prompt_logprobs", "\(uri)")
                #expect(text == message, "\(uri)")
            }
        }
    }
}
