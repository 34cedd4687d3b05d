import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMServer

/// `use_beam_search` on both generation endpoints, in vLLM's shapes: `n` beams as choices, best first; completions
/// answer whole even when asked to stream; `length_penalty` without beam search is refused. The fake backend's step
/// puts its scripted token ('h' first) above the rest of a flat 256-token row.
struct BeamSearchEndpointTests {
    static func choices(_ body: [String: Any]) -> [[String: Any]] { body["choices"] as? [[String: Any]] ?? [] }

    @Test func completionsAnswerWithNBeamsWhole() async throws {
        try await makeApp().test(.router) { client in
            let (status, body, _) = try await post(client, "/v1/completions",
                #"{"model": "fake", "prompt": "Hi", "max_tokens": 3, "n": 2, "use_beam_search": true, "stream": true, "logprobs": 1}"#)
            #expect(status == .ok && body["object"] as? String == "text_completion", "a JSON answer, not a stream")
            let choices = Self.choices(body)
            #expect(choices.map { $0["index"] as? Int } == [0, 1])
            #expect(choices.first?["text"] as? String == "hhh", "the best beam takes the likeliest token at every step")
            #expect(choices.allSatisfy { $0["finish_reason"] as? String == "length" && ($0["text"] as? String)?.count == 3 })
            #expect(((choices.first?["logprobs"] as? [String: Any])?["tokens"] as? [String]) == ["h", "h", "h"])
            #expect((body["usage"] as? [String: Int])?["completion_tokens"] == 6)
        }
    }

    /// A search counts once in the per-request metrics, with its best beam's tokens: two prompts, two requests.
    @Test func eachPromptsSearchCountsAsOneRequest() async throws {
        try await makeApp().test(.router) { client in
            let (status, _, _) = try await post(client, "/v1/completions",
                #"{"model": "fake", "prompt": ["Hi", "Yo"], "max_tokens": 3, "n": 2, "use_beam_search": true}"#)
            #expect(status == .ok)
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"vllm:request_success_total{model_name="fake",finished_reason="length"} 2"#), "\(text)")
                #expect(text.contains(#"vllm:generation_tokens_total{model_name="fake"} 6"#))
                #expect(text.contains(#"vllm:e2e_request_latency_seconds_count{model_name="fake"} 2"#))
                #expect(text.contains(#"vllm:inter_token_latency_seconds_count{model_name="fake"} 4"#), "two later steps a search")
            }
        }
    }

    @Test func chatAnswersWithNBeamsAndStreamsThemWhole() async throws {
        try await makeApp().test(.router) { client in
            let request = #"{"model": "fake", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "n": 3, "use_beam_search": true"#
            let (status, body, _) = try await post(client, "/v1/chat/completions", request + "}")
            #expect(status == .ok && Self.choices(body).count == 3)
            #expect(((Self.choices(body).first?["message"] as? [String: Any])?["content"] as? String) == "hh")
            let raw = try await client.execute(uri: "/v1/chat/completions", method: .post, body: ByteBuffer(string: request + #", "stream": true}"#)) {
                String(buffer: $0.body)
            }
            let chunks = raw.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }
                .compactMap { (json(ByteBuffer(string: String($0.dropFirst("data: ".count))))["choices"] as? [[String: Any]])?.first }
            #expect(chunks.count == 6 && raw.hasSuffix("data: [DONE]\n\n"))
            #expect((chunks[1]["delta"] as? [String: Any])?["content"] as? String == "hh" && chunks[1]["finish_reason"] as? String == "length")
        }
    }

    /// vLLM drops the sampling fields beam search does not take; here a request that sets one is refused by name, and
    /// the cache salt goes with every step.
    @Test func fieldsBeamSearchDoesNotTakeAreRefused() async throws {
        let backend = FakeBackend()
        try await ParameterTests.app(backend).test(.router) { client in
            for (extra, param) in [(#""stop": ["x"]"#, "stop"), (#""seed": 7"#, "seed"), (#""top_p": 0.5"#, "top_p"),
                                   (#""prompt_logprobs": 1"#, "prompt_logprobs"),
                                   (#""response_format": {"type": "json_object"}"#, "use_beam_search")] {
                try await ParameterTests.each(client, #""use_beam_search": true, \#(extra)"#) { uri, status, _, name in
                    #expect(status == .badRequest && name == param, "\(uri) \(extra)")
                }
            }
            try await ParameterTests.each(client, #""use_beam_search": true, "top_p": 1, "cache_salt": "tenant""#) { uri, status, _, _ in
                #expect(status == .ok, "\(uri): neutral values pass")
                #expect(backend.lastParameters.withLock { $0?.cacheSalt } == "tenant", "\(uri)")
            }
        }
    }

    @Test func lengthPenaltyNeedsBeamSearch() async throws {
        try await ParameterTests.app().test(.router) { client in
            try await ParameterTests.each(client, #""length_penalty": 0.5"#) { uri, status, _, param in
                #expect(status == .badRequest && param == "length_penalty", "\(uri)")
            }
            try await ParameterTests.each(client, #""length_penalty": 1.0"#) { uri, status, _, _ in #expect(status == .ok, "\(uri)") }
        }
    }
}
