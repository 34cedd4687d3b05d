import Hummingbird
import VLLMEngine
import VLLMJSON

extension ChatCompletionsEndpoint {
    /// The answer to `use_beam_search`: `n` beams as choices, best first, read by the tool and reasoning parsers like
    /// any answer. Streamed, each choice comes whole after its role chunk (vLLM's generator yields the search's one
    /// final output).
    func beamSearchResponse(_ search: BeamSearch, choices: [ChoiceRunner.Choice], reader: ChatOutputReader, stream: Bool,
                            wantLogprobs: Bool, echo: String?, priority: Int,
                            response: (id: String, created: JSONValue, model: String)) async throws -> Response {
        let runner = BeamSearchRunner(backend: server.backend, metrics: server.metrics)
        guard let answer = try await runner.run(search, choices: choices, priority: priority).first else {
            throw APIError.invalid("beam search found no answer")
        }
        var completion = 0
        let beams = answer.beams.map { beam in
            let (tokens, text) = runner.generated(beam, promptTokenCount: answer.promptTokenCount,
                                                  skipSpecialTokens: choices.first?.parameters.skipSpecialTokens ?? true)
            completion += tokens.count
            return (beam, (echo ?? "") + text, Responses.finishReason(beam.finishReason).string ?? "length")
        }
        let usage = Responses.usage(prompt: answer.promptTokenCount, completion: completion)
        @Sendable func object(_ choices: [JSONValue], chunk: Bool) -> JSONValue {
            .object(["id": .string(response.id), "object": .string(chunk ? "chat.completion.chunk" : "chat.completion"),
                     "created": response.created, "model": .string(response.model), "choices": .array(choices)])
        }
        if !stream {
            let body: [JSONValue] = beams.enumerated().map { i, item in
                let (message, finishReason) = reader.message(item.1, finishReason: item.2)
                return .object(["index": Responses.number(i), "message": message,
                                "logprobs": wantLogprobs ? logprobs(item.0.logprobs) : .null,
                                "finish_reason": .string(finishReason), "stop_reason": .null])
            }
            guard case .object(var whole) = object(body, chunk: false) else { return Responses.json(.null) }
            whole["usage"] = usage
            return Responses.json(.object(whole))
        }
        return Responses.eventStream { send in
            for (i, item) in beams.enumerated() {
                try await send(object([.object(["index": Responses.number(i), "delta": .object(["role": .string("assistant"), "content": .string("")]),
                                                "logprobs": .null, "finish_reason": .null])], chunk: true))
                var deltas = ChatDeltaStream(reader: reader)
                var delta = deltas.feed(item.1)
                delta.merge(deltas.finish(), uniquingKeysWith: ChatDeltaStream.joined)
                let finishReason = reader.toolChoice.finishesWithToolCalls(called: deltas.calledTools, finishReason: item.2) ? "tool_calls" : item.2
                try await send(object([.object(["index": Responses.number(i), "delta": .object(delta),
                                                "logprobs": wantLogprobs ? logprobs(item.0.logprobs) : .null,
                                                "finish_reason": .string(finishReason)])], chunk: true))
            }
        }
    }
}
