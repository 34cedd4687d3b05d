import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMServer

/// `POST /v1/responses` on the fake backend: the input items become the chat conversation in order, the answer's
/// reasoning and text become output items, and a stream is the API's named events, numbered, with no `[DONE]`.
/// (The official client parses these shapes strictly in tests/e2e/test_responses.py.)
struct ResponsesEndpointTests {
    static func app(_ backend: FakeBackend, reasoning: String? = nil) -> some ApplicationProtocol {
        var configuration = ServerConfiguration()
        configuration.servedModelNames = ["fake"]
        configuration.reasoningParser = reasoning.flatMap(ReasoningParser.init(name:))
        return Application(router: OpenAIServer.router(ServerContext(backend: backend, configuration: configuration)))
    }

    @Test func inputItemsBecomeTheConversationInOrder() async throws {
        let backend = FakeBackend(output: "Seven.")
        try await Self.app(backend).test(.router) { client in
            let body = #"""
            {"model": "fake", "instructions": "Be brief.", "max_output_tokens": 20, "input": [
              {"role": "user", "content": "Remember 7."},
              {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Noted."}]},
              {"type": "function_call", "call_id": "c1", "name": "recall", "arguments": "{}"},
              {"type": "function_call_output", "call_id": "c1", "output": "7"},
              {"type": "reasoning", "id": "rs_1", "summary": []},
              {"role": "user", "content": "Which?"}]}
            """#
            let (status, response, raw) = try await post(client, "/v1/responses", body)
            #expect(status == .ok, "\(raw)")
            #expect(response["object"] as? String == "response" && response["status"] as? String == "completed")
            let output = response["output"] as? [[String: Any]] ?? []
            #expect(output.count == 1 && output.first?["type"] as? String == "message")
            let part = (output.first?["content"] as? [[String: Any]])?.first
            #expect(part?["type"] as? String == "output_text" && part?["text"] as? String == "Seven.")
            let usage = response["usage"] as? [String: Any]
            #expect(usage?["output_tokens"] as? Int == 6)
            let prompt = "<system>Be brief.<user>Remember 7.<assistant><assistant><tool>7<user>Which?<assistant>"
            // The fake template writes `<role>content`, a list of parts as empty content; a token a byte.
            #expect(usage?["input_tokens"] as? Int == prompt.utf8.count, "the conversation as the fake template writes it")
        }
    }

    @Test func reasoningAndTextAreSeparateItemsAndStreamAsNamedEvents() async throws {
        let backend = FakeBackend(output: "<think>Two and two.</think>Four.")
        try await Self.app(backend, reasoning: "deepseek_r1").test(.router) { client in
            let request = #"{"model": "fake", "input": "2+2?", "max_output_tokens": 64"#
            let (_, response, _) = try await post(client, "/v1/responses", request + "}")
            let output = response["output"] as? [[String: Any]] ?? []
            #expect(output.map { $0["type"] as? String } == ["reasoning", "message"])
            #expect(((output.first?["content"] as? [[String: Any]])?.first?["text"] as? String) == "Two and two.")
            #expect(((output.last?["content"] as? [[String: Any]])?.first?["text"] as? String) == "Four.")
            let raw = try await client.execute(uri: "/v1/responses", method: .post, body: ByteBuffer(string: request + #", "stream": true}"#)) {
                String(buffer: $0.body)
            }
            let frames = raw.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(!raw.contains("[DONE]"))
            let events = frames.map { frame -> (String, [String: Any]) in
                let lines = frame.components(separatedBy: "\n")
                let data = json(ByteBuffer(string: String(lines.last?.dropFirst("data: ".count) ?? "")))
                return (String(lines.first?.dropFirst("event: ".count) ?? ""), data)
            }
            #expect(events.allSatisfy { $0.0 == $0.1["type"] as? String }, "each event line names its data's type")
            #expect(events.map { $0.1["sequence_number"] as? Int } == Array(0..<events.count))
            let reasoning = events.filter { $0.0 == "response.reasoning_text.delta" }.compactMap { $0.1["delta"] as? String }.joined()
            let text = events.filter { $0.0 == "response.output_text.delta" }.compactMap { $0.1["delta"] as? String }.joined()
            #expect(reasoning == "Two and two." && text == "Four.")
            #expect(events.last?.0 == "response.completed")
            let items = (events.last?.1["response"] as? [String: Any])?["output"] as? [[String: Any]] ?? []
            #expect(items.map { $0["type"] as? String } == ["reasoning", "message"])
            #expect(events.filter { $0.0 == "response.output_item.done" }.count == 2)
        }
    }

    /// Nothing is stored: retrieving, deleting or cancelling a response is vLLM's 404.
    @Test func storedResponsesAreNotFound() async throws {
        try await Self.app(FakeBackend()).test(.router) { client in
            for (method, uri) in [(HTTPRequest.Method.get, "/v1/responses/resp_1"), (.delete, "/v1/responses/resp_1"),
                                  (.post, "/v1/responses/resp_1/cancel")] {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .notFound, "\(method) \(uri)")
                    let message = (json(response.body)["error"] as? [String: Any])?["message"] as? String
                    #expect(message?.hasPrefix("Response with id 'resp_1' not found") == true, "\(method) \(uri)")
                }
            }
        }
    }

    @Test func chatOnlyAndStoredResponseFieldsAreRefusedByName() async throws {
        try await Self.app(FakeBackend()).test(.router) { client in
            for (extra, status, param) in [(#""previous_response_id": "resp_1""#, HTTPResponse.Status.notFound, "previous_response_id"),
                                           (#""max_tokens": 5"#, .badRequest, "max_tokens"),
                                           (#""use_beam_search": true"#, .badRequest, "use_beam_search"),
                                           (#""prompt_logprobs": 1"#, .badRequest, "prompt_logprobs"),
                                           (#""messages": [{"role": "user", "content": "x"}]"#, .badRequest, "messages"),
                                           (#""tools": [{"type": "file_search"}]"#, .badRequest, "tools"),
                                           (#""text": {"format": {"type": "xml"}}"#, .badRequest, "text"),
                                           (#""reasoning": {"summary": "detailed"}"#, .badRequest, "reasoning")] {
                let (got, body, raw) = try await post(client, "/v1/responses", #"{"model": "fake", "input": "Hi", \#(extra)}"#)
                #expect(got == status, "\(extra): \(raw)")
                #expect((body["error"] as? [String: Any])?["param"] as? String == param, "\(extra)")
            }
        }
    }
}
