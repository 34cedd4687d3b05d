import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMEngine
import VLLMServer

func makeApp(apiKeys: [String] = [], backend: FakeBackend = FakeBackend()) -> some ApplicationProtocol {
    var configuration = ServerConfiguration()
    configuration.servedModelNames = ["fake", "fake-alias"]
    configuration.apiKeys = apiKeys
    return Application(router: OpenAIServer.router(ServerContext(backend: backend, configuration: configuration)))
}

func json(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
}

/// Posts `body` and returns status and parsed JSON.
func post(_ client: some TestClientProtocol, _ uri: String, _ body: String, headers: HTTPFields = [:]) async throws -> (HTTPResponse.Status, [String: Any], String) {
    try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
        (response.status, json(response.body), String(buffer: response.body))
    }
}

@Test func completionReturnsOpenAIShape() async throws {
    try await makeApp().test(.router) { client in
        let (status, body, _) = try await post(client, "/v1/completions", #"{"model": "fake", "prompt": "Hi", "max_tokens": 5}"#)
        #expect(status == .ok)
        #expect(body["object"] as? String == "text_completion")
        #expect((body["id"] as? String)?.hasPrefix("cmpl-") == true)
        let choice = (body["choices"] as? [[String: Any]])?.first
        #expect(choice?["text"] as? String == "hello")
        #expect(choice?["finish_reason"] as? String == "length")
        let usage = body["usage"] as? [String: Int]
        #expect(usage == ["prompt_tokens": 2, "completion_tokens": 5, "total_tokens": 7])
    }
}

@Test func stopStringsAndNAndEcho() async throws {
    try await makeApp().test(.router) { client in
        let (_, body, _) = try await post(client, "/v1/completions",
                                          #"{"model": "fake", "prompt": ["A", "B"], "n": 2, "max_tokens": 20, "stop": [" w"], "echo": true}"#)
        let choices = body["choices"] as? [[String: Any]] ?? []
        #expect(choices.count == 4)
        #expect(choices.map { $0["index"] as? Int } == [0, 1, 2, 3])
        #expect(choices.map { $0["text"] as? String } == ["Ahello", "Ahello", "Bhello", "Bhello"])
        #expect(choices.allSatisfy { $0["finish_reason"] as? String == "stop" })
    }
}

@Test func streamingCompletionEndsWithUsageAndDone() async throws {
    try await makeApp().test(.router) { client in
        let (status, _, raw) = try await post(client, "/v1/completions",
                                              #"{"model": "fake", "prompt": "Hi", "max_tokens": 3, "stream": true, "stream_options": {"include_usage": true}}"#)
        #expect(status == .ok)
        let events = raw.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(events.last == "data: [DONE]")
        let chunks = events.dropLast().map { json(ByteBuffer(string: String($0.dropFirst("data: ".count)))) }
        let ids = Set(chunks.compactMap { $0["id"] as? String })
        #expect(ids.count == 1, "every chunk carries the same id")
        let text = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["text"] as? String }.joined()
        #expect(text == "hel")
        let final = try #require(chunks.last)
        #expect((final["choices"] as? [Any])?.isEmpty == true)
        #expect((final["usage"] as? [String: Int])?["completion_tokens"] == 3)
    }
}

@Test func chatStreamsRoleFirstAndFinishLast() async throws {
    try await makeApp().test(.router) { client in
        let (_, _, raw) = try await post(client, "/v1/chat/completions",
                                         #"{"model": "fake", "messages": [{"role": "user", "content": "Hi"}], "max_completion_tokens": 4, "stream": true}"#)
        let chunks = raw.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }
            .map { json(ByteBuffer(string: String($0.dropFirst(6)))) }
        let deltas = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first }
        #expect((deltas.first?["delta"] as? [String: Any])?["role"] as? String == "assistant")
        #expect(deltas.last?["finish_reason"] as? String == "length")
        #expect(deltas.dropLast().allSatisfy { $0["finish_reason"] is NSNull })
        let text = deltas.compactMap { ($0["delta"] as? [String: Any])?["content"] as? String }.joined()
        #expect(text == "hell")
        #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
    }
}

@Test func chatCompletionMessageAndLogprobs() async throws {
    try await makeApp().test(.router) { client in
        let (status, body, _) = try await post(client, "/v1/chat/completions",
            #"{"model": "fake", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "logprobs": true, "top_logprobs": 2}"#)
        #expect(status == .ok)
        let choice = (body["choices"] as? [[String: Any]])?.first
        #expect((choice?["message"] as? [String: Any])?["content"] as? String == "he")
        let content = ((choice?["logprobs"] as? [String: Any])?["content"] as? [[String: Any]]) ?? []
        #expect(content.count == 2)
        #expect(content.first?["token"] as? String == "h")
        #expect((content.first?["top_logprobs"] as? [Any])?.count == 2)
        #expect((body["usage"] as? [String: Int])?["prompt_tokens"] == "<user>Hi<assistant>".utf8.count)
    }
}

@Test(arguments: [
    (#"{"model": "fake", "prompt": "x", "temperature": -1}"#, 400, "temperature"),
    (#"{"model": "fake", "prompt": "x", "top_p": "high"}"#, 400, "top_p"),
    (#"{"model": "fake", "prompt": "x", "n": 0}"#, 400, "n"),
    (#"{"model": "fake", "prompt": "x", "max_tokens": 100}"#, 400, "max_tokens"),
    (#"{"model": "fake", "prompt": "x", "logprobs": 50}"#, 400, "logprobs"),
    (#"{"model": "fake", "prompt": "x", "best_of": 2}"#, 400, "best_of"),
    (#"{"model": "fake", "prompt": "x", "suffix": "y"}"#, 400, "suffix"),
    (#"{"model": "other", "prompt": "x"}"#, 404, "model"),
    (#"{"model": "fake"}"#, 400, "prompt"),
    (#"{"model": "fake", "prompt": [1, "a"]}"#, 400, "prompt"),
    (#"not json"#, 400, nil),
])
func invalidRequestsGetOpenAIErrors(body: String, status: Int, param: String?) async throws {
    try await makeApp().test(.router) { client in
        let (got, json, _) = try await post(client, "/v1/completions", body)
        #expect(Int(got.code) == status)
        let error = json["error"] as? [String: Any]
        #expect(error?["message"] as? String != nil)
        #expect(error?["code"] as? Int == status)
        if let param { #expect(error?["param"] as? String == param) }
    }
}

@Test func promptOverTheContextSaysBothNumbers() async throws {
    try await makeApp().test(.router) { client in
        let long = String(repeating: "a", count: 80)
        let (status, body, _) = try await post(client, "/v1/completions", #"{"model": "fake", "prompt": "\#(long)"}"#)
        #expect(status == .badRequest)
        let message = (body["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("64") && message.contains("80"))
    }
}

@Test func apiKeyGuardsV1Only() async throws {
    try await makeApp(apiKeys: ["secret"]).test(.router) { client in
        let (missing, body, _) = try await post(client, "/v1/completions", #"{"prompt": "x"}"#)
        #expect(missing == .unauthorized)
        #expect((body["error"] as? [String: Any])?["type"] as? String == "authentication_error")
        let (wrong, _, _) = try await post(client, "/v1/completions", #"{"prompt": "x"}"#, headers: [.authorization: "Bearer nope"])
        #expect(wrong == .unauthorized)
        let (ok, _, _) = try await post(client, "/v1/completions", #"{"prompt": "x", "max_tokens": 1}"#, headers: [.authorization: "Bearer secret"])
        #expect(ok == .ok)
        try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .ok) }
    }
}

@Test func modelsTokenizeDetokenizeAndUnknownRoutes() async throws {
    try await makeApp().test(.router) { client in
        try await client.execute(uri: "/v1/models", method: .get) { response in
            let data = json(response.body)["data"] as? [[String: Any]] ?? []
            #expect(data.map { $0["id"] as? String } == ["fake", "fake-alias"])
            #expect(data.first?["max_model_len"] as? Int == 64)
        }
        let (_, tokens, _) = try await post(client, "/tokenize", #"{"model": "fake", "prompt": "AB"}"#)
        #expect(tokens["tokens"] as? [Int] == [65, 66] && tokens["count"] as? Int == 2 && tokens["max_model_len"] as? Int == 64)
        let (_, text, _) = try await post(client, "/detokenize", #"{"model": "fake", "tokens": [72, 105]}"#)
        #expect(text["prompt"] as? String == "Hi")
        try await client.execute(uri: "/v1/nothing", method: .get) { response in
            #expect(response.status == .notFound)
            #expect((json(response.body)["error"] as? [String: Any])?["code"] as? Int == 404)
        }
    }
}

@Test func metricsUseVLLMNames() async throws {
    try await makeApp().test(.router) { client in
        _ = try await post(client, "/v1/completions", #"{"model": "fake", "prompt": "Hi", "max_tokens": 3}"#)
        try await client.execute(uri: "/metrics", method: .get) { response in
            let text = String(buffer: response.body)
            for name in ["vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc", "vllm:prompt_tokens_total",
                         "vllm:generation_tokens_total", "vllm:request_success_total", "vllm:time_to_first_token_seconds",
                         "vllm:e2e_request_latency_seconds", "vllm:request_queue_time_seconds", "vllm:request_prefill_time_seconds",
                         "vllm:request_decode_time_seconds", "vllm:request_inference_time_seconds", "vllm:request_time_per_output_token_seconds",
                         "vllm:iteration_tokens_total"] {
                #expect(text.contains(name), "missing \(name)")
            }
            #expect(text.contains(#"vllm:generation_tokens_total{model_name="fake"} 3"#))
            #expect(text.contains(#"finished_reason="length""#))
        }
    }
}
