import Foundation
import Hummingbird
import VLLMEngine
import VLLMJSON

/// `POST /v1/completions`.
struct CompletionsEndpoint: Sendable {
    let server: ServerContext

    static let knownKeys = RequestFields.samplingKeys.union(["prompt", "echo", "logprobs", "suffix"])

    func handle(_ fields: RequestFields) async throws -> Response {
        fields.warnUnknown(Self.knownKeys, logger: server.logger)
        let model = try server.checkModel(fields)
        try server.checkGenerative("Completions API")
        if try fields.string("suffix") != nil { throw APIError.invalid("suffix is not supported", param: "suffix") }
        let (prompts, texts) = try await truncated(promptList(fields), keep: fields.truncatePromptTokens(maxModelLength: server.backend.limits.maxModelLength))
        var sampling = try fields.samplingParameters(defaults: server.configuration.samplingDefaults)
        sampling.logprobs = try fields.int("logprobs")
        let echo = try fields.bool("echo") ?? false
        // vLLM: echo with logprobs scores the prompt too (prompt_logprobs = logprobs unless set), and echo with
        // max_tokens 0 answers with the prompt alone (one token is generated and dropped, as vLLM does).
        let echoOnly = echo && sampling.maxTokens == 0
        if echoOnly { sampling.maxTokens = 1 }
        if echo && sampling.promptLogprobs == nil { sampling.promptLogprobs = sampling.logprobs }
        let parameters = sampling
        let stream = try fields.bool("stream") ?? false
        let includeUsage = try fields.object("stream_options")?["include_usage"]?.bool ?? false
        let choices = try await server.prepare(prompts: prompts, parameters: parameters)
        let runner = server.runner
        let id = try fields.responseID("cmpl-"), created = Responses.created
        server.logReceived(id, choices)
        let promptTokens = prompts.reduce(0) { $0 + $1.count }
        var echoes: [String] = []
        for (i, ids) in prompts.enumerated() where echo {
            if let text = texts[i] { echoes.append(text) } else { echoes.append(await server.detokenize(ids, skipSpecialTokens: false)) }
        }
        let echoTexts = echoes
        let json = LogprobsJSON(backend: server.backend)
        /// A choice's text and logprobs from its echoed prompt (if any) and generated part, `offset` characters in.
        @Sendable func answer(_ choice: ChoiceRunner.Choice, prompt promptLogprobs: [TokenLogprobs]?, text: String, output: [TokenLogprobs],
                              offset: Int) -> (text: String, logprobs: JSONValue) {
            let prompt = promptLogprobs.map { LogprobsJSON.promptPositions(choice.promptTokenIDs, $0) } ?? []
            let generated = echoOnly ? [] : LogprobsJSON.outputPositions(output)
            let full = (promptLogprobs == nil ? "" : echoTexts[choice.promptIndex]) + (echoOnly ? "" : text)
            guard let k = parameters.logprobs else { return (full, .null) }
            return (full, json.completion(prompt + generated, topCount: k, offset: offset))
        }
        if let search = try fields.beamSearch(parameters, maxTokens: parameters.maxTokens ?? 16) {
            return try await beamSearchResponse(search, choices: choices, logprobs: parameters.logprobs, echoes: echo ? echoTexts : nil,
                                                priority: try fields.int("priority") ?? 0, response: (id, created, model, promptTokens))
        }
        if !stream {
            let results = try await runner.gather(choices, priority: try fields.int("priority") ?? 0)
            var completionTokens = 0
            let body: [JSONValue] = zip(choices, results).map { choice, result in
                completionTokens += result.tokenIDs.count
                let (text, logprobs) = answer(choice, prompt: echo ? result.promptLogprobs ?? [] : nil, text: result.text,
                                                 output: result.logprobs, offset: 0)
                return .object(["index": Responses.number(choice.index), "text": .string(text), "logprobs": logprobs,
                                "finish_reason": Responses.finishReason(result.finishReason), "stop_reason": .null,
                                "prompt_logprobs": result.promptLogprobs.map(json.promptLogprobs) ?? .null])
            }
            return Responses.json(.object(["id": .string(id), "object": .string("text_completion"), "created": created,
                                           "model": .string(model), "choices": .array(body),
                                           "usage": Responses.usage(prompt: promptTokens, completion: completionTokens)]))
        }
        let priority = try fields.int("priority") ?? 0
        return Responses.eventStream { send in
            func chunk(_ choices: [JSONValue], usage: JSONValue? = nil) -> JSONValue {
                var object: JSONObject = ["id": .string(id), "object": .string("text_completion"), "created": created,
                                                   "model": .string(model), "choices": .array(choices)]
                if includeUsage { object["usage"] = usage ?? .null }
                return .object(object)
            }
            // The echo goes out at once, unless its logprobs must wait for the prompt's computation (then it
            // leads the choice's first output, as in vLLM).
            let echoFirst = echo && parameters.logprobs == nil
            if echoFirst {
                for choice in choices {
                    try await send(chunk([.object(["index": Responses.number(choice.index), "text": .string(echoTexts[choice.promptIndex]),
                                                   "logprobs": .null, "finish_reason": .null])]))
                }
            }
            var completionTokens = 0
            var offsets = choices.map { echoFirst ? echoTexts[$0.promptIndex].unicodeScalars.count : 0 }
            var echoed = choices.map { _ in echoFirst }
            for try await (index, output) in runner.merged(choices, priority: priority) {
                completionTokens += output.tokenIDs.count
                let prompt: [TokenLogprobs]? = echoed[index] || !echo ? nil : output.promptLogprobs ?? []
                echoed[index] = true
                let (text, logprobs) = answer(choices[index], prompt: prompt, text: output.text, output: output.logprobs,
                                                 offset: offsets[index])
                offsets[index] += text.unicodeScalars.count
                if text.isEmpty && output.finishReason == nil { continue }
                try await send(chunk([.object(["index": Responses.number(index), "text": .string(text), "logprobs": logprobs,
                                               "finish_reason": Responses.finishReason(output.finishReason),
                                               "stop_reason": .null])]))
            }
            if includeUsage { try await send(chunk([], usage: Responses.usage(prompt: promptTokens, completion: completionTokens))) }
        }
    }

    /// The prompts cut to their last `keep` tokens (`truncate_prompt_tokens`); a cut prompt's text is dropped so that
    /// echo shows the prompt the model saw.
    func truncated(_ prompts: (ids: [[Int32]], texts: [String?]), keep: Int?) -> (ids: [[Int32]], texts: [String?]) {
        guard let keep else { return prompts }
        var result = prompts
        for i in result.ids.indices where result.ids[i].count > keep {
            result.ids[i] = Array(result.ids[i].suffix(keep))
            result.texts[i] = nil
        }
        return result
    }

    /// `prompt` (or `key`: the embeddings' `input`) as a string, a list of strings, a list of token ids, or a list of
    /// token-id lists.
    func promptList(_ fields: RequestFields, key: String = "prompt") async throws -> (ids: [[Int32]], texts: [String?]) {
        guard let prompt = fields[key] else { throw APIError.invalid("'\(key)' is required", param: key) }
        let backend = server.backend
        let addSpecialTokens = try fields.bool("add_special_tokens") ?? true
        func ids(_ array: [JSONValue]) throws -> [Int32] {
            try array.map { value in
                guard let n = value.number, n == n.rounded() else { throw APIError.invalid("'\(key)' token ids must be integers", param: key) }
                guard let id = Int32(exactly: n) else {
                    throw APIError.invalid("token id \(RequestFields.integerText(n)) is out of vocabulary (0..<\(backend.limits.vocabularySize))", param: key)
                }
                return id
            }
        }
        // Counted before anything is tokenized: 10,000 prompts are refused at once.
        if case .array(let items) = prompt, !items.isEmpty, items.allSatisfy({ $0.array != nil }) || items.allSatisfy({ $0.string != nil }) {
            try server.checkPromptCount(items.count, param: key)
        }
        switch prompt {
        case .string(let text):
            return ([await server.tokenize(text, addSpecialTokens: addSpecialTokens)], [text])
        case .array(let items) where !items.isEmpty:
            if items.allSatisfy({ $0.string != nil }) {
                let strings = items.compactMap(\.string)
                return (await server.tokenize(strings, addSpecialTokens: addSpecialTokens), strings)
            }
            if items.allSatisfy({ $0.number != nil }) { return ([try ids(items)], [nil]) }
            if items.allSatisfy({ $0.array != nil }) {
                let lists = try items.compactMap(\.array).map(ids)
                return (lists, lists.map { _ in nil })
            }
            throw APIError.invalid("'\(key)' must be a string, a list of strings, a list of token ids or a list of token-id lists", param: key)
        default:
            throw APIError.invalid("'\(key)' must be a non-empty string or list", param: key)
        }
    }
}
