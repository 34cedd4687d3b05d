import Hummingbird
import VLLMEngine
import VLLMJSON

extension CompletionsEndpoint {
    /// The answer to `use_beam_search`: each prompt's `n` beams as choices (`promptIndex × n + i`), best first, after
    /// the echoed prompt when `echoes` is set. vLLM answers beam search whole, asked to stream or not.
    func beamSearchResponse(_ search: BeamSearch, choices: [ChoiceRunner.Choice], logprobs: Int?, echoes: [String]?, priority: Int,
                            response: (id: String, created: JSONValue, model: String, promptTokens: Int)) async throws -> Response {
        let runner = BeamSearchRunner(backend: server.backend, metrics: server.metrics), json = LogprobsJSON(backend: server.backend)
        let endOfSequence = server.backend.endOfSequenceTokenID.map { JSONValue.number(Double($0)) } ?? .null
        var body: [JSONValue] = [], completionTokens = 0
        for answer in try await runner.run(search, choices: choices, priority: priority) {
            for (i, beam) in answer.beams.enumerated() {
                let (tokens, text) = runner.generated(beam, promptTokenCount: answer.promptTokenCount,
                                                      skipSpecialTokens: choices.first?.parameters.skipSpecialTokens ?? true)
                completionTokens += tokens.count
                let entries = logprobs.map { json.completion(LogprobsJSON.outputPositions(beam.logprobs), topCount: $0, offset: 0) }
                body.append(.object(["index": Responses.number(answer.promptIndex * search.beamWidth + i),
                                     "text": .string((echoes?[answer.promptIndex] ?? "") + text), "logprobs": entries ?? .null,
                                     "finish_reason": Responses.finishReason(beam.finishReason),
                                     "stop_reason": beam.finishReason == .stop ? endOfSequence : .null]))
            }
        }
        return Responses.json(.object(["id": .string(response.id), "object": .string("text_completion"), "created": response.created,
                                       "model": .string(response.model), "choices": .array(body),
                                       "usage": Responses.usage(prompt: response.promptTokens, completion: completionTokens)]))
    }
}
