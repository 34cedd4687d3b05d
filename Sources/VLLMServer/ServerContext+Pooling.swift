import Foundation
import VLLMEngine
import VLLMJSON

extension ServerContext {
    /// 400 on a generation endpoint when the served model is a pooling (embedding) model, saying why.
    func checkGenerative(_ api: String) throws(APIError) {
        guard backend.isPooling else { return }
        throw APIError.invalid("The model does not support \(api): it is a pooling (embedding) model, served for /v1/embeddings, /score and /rerank.")
    }

    /// 400 on a pooling endpoint when the served model generates text, saying why.
    func checkPooling(_ api: String) throws(APIError) {
        guard !backend.isPooling else { return }
        throw APIError.invalid("The model does not support \(api): it is a generative (chat/completion) model; serve an embedding model (or this one with --convert embed) for it.")
    }

    /// The pooling fields every pooling endpoint shares: `truncate_prompt_tokens`, `dimensions`, `normalize`.
    func poolingParameters(_ fields: RequestFields) throws(APIError) -> PoolingParameters {
        let dimensions = try fields.int("dimensions")
        let truncate = try fields.truncatePromptTokens(maxModelLength: backend.limits.maxModelLength)
        return PoolingParameters(dimensions: dimensions, normalize: try fields.bool("normalize"), truncatePromptTokens: truncate)
    }

    /// Runs one pooling request per prompt, all queued at once so the scheduler batches them, and returns their
    /// outputs in prompt order. Engine errors become 400s (503 when shutting down).
    func pool(_ prompts: [[Int32]], parameters: PoolingParameters, priority: Int) async throws -> [RequestOutput] {
        try checkAdmission()
        let backend = backend
        let streams = prompts.map { backend.embed(promptTokenIDs: $0, parameters: parameters, priority: priority) }
        do {
            return try await withThrowingTaskGroup(of: (Int, RequestOutput?).self) { group in
                for (index, stream) in streams.enumerated() {
                    group.addTask {
                        var last: RequestOutput? = nil
                        for try await output in stream { last = output }
                        return (index, last)
                    }
                }
                var outputs = [RequestOutput?](repeating: nil, count: prompts.count)
                for try await (index, output) in group { outputs[index] = output }
                return try outputs.enumerated().map { index, output in
                    guard let output, output.embedding != nil else {
                        throw APIError(status: .internalServerError, message: "input \(index) ended without a pooled vector")
                    }
                    return output
                }
            }
        } catch {
            throw ChoiceRunner.apiError(error)
        }
    }

    /// Cosine similarity, in double.
    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y)
            na += Double(x) * Double(x)
            nb += Double(y) * Double(y)
        }
        return dot / max((na * nb).squareRoot(), 1e-12)
    }

    /// vLLM's `UsageInfo` of a pooling response: prompt tokens only.
    static func poolingUsage(promptTokens: Int) -> JSONValue {
        .object(["prompt_tokens": Responses.number(promptTokens), "total_tokens": Responses.number(promptTokens),
                 "completion_tokens": .number(0), "prompt_tokens_details": .null])
    }
}
