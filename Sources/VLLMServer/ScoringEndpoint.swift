import Foundation
import Hummingbird
import VLLMEngine
import VLLMJSON

/// `POST /score` and `POST /rerank` (`/v1/score`, `/v1/rerank`) with an embedding model as a bi-encoder, as vLLM
/// scores with one: every text is embedded, and a pair's score is the cosine similarity of its two vectors.
struct ScoringEndpoint: Sendable {
    let server: ServerContext

    static let commonKeys: Set<String> = ["model", "truncate_prompt_tokens", "priority", "request_id", "user", "normalize", "add_special_tokens"]
    static let scoreKeys = commonKeys.union(["queries", "documents", "text_1", "text_2"])
    static let rerankKeys = commonKeys.union(["query", "documents", "top_n", "return_documents"])

    /// `/score`: `queries` and `documents` (or vLLM's older `text_1` and `text_2`), each a string or a list; one
    /// query against N documents, or N against N in order. `data[i].score` for pair i.
    func score(_ fields: RequestFields) async throws -> Response {
        fields.warnUnknown(Self.scoreKeys, logger: server.logger)
        let model = try server.checkModel(fields)
        try server.checkPooling("Score API")
        let (leftKey, rightKey) = fields["queries"] != nil || fields["documents"] != nil ? ("queries", "documents") : ("text_1", "text_2")
        let left = try texts(fields, leftKey), right = try texts(fields, rightKey)
        guard left.count == 1 || left.count == right.count else {
            throw APIError.invalid("Input lengths must be either 1:1, 1:N or N:N, got \(left.count) \(leftKey) and \(right.count) \(rightKey)", param: rightKey)
        }
        let (vectors, promptTokens) = try await embed(left + right, fields)
        let data: [JSONValue] = right.indices.map { i in
            let query = vectors[left.count == 1 ? 0 : i], document = vectors[left.count + i]
            return .object(["index": Responses.number(i), "object": .string("score"), "score": .number(ServerContext.cosine(query, document))])
        }
        return Responses.json(.object(["id": .string(Responses.newID("score-")), "object": .string("list"), "created": Responses.created,
                                       "model": .string(model), "data": .array(data),
                                       "usage": ServerContext.poolingUsage(promptTokens: promptTokens)]))
    }

    /// `/rerank`: `query` against `documents`, answered best first as `results[]` of `index` (into `documents`),
    /// `document.text` and `relevance_score`; `top_n` > 0 keeps that many.
    func rerank(_ fields: RequestFields) async throws -> Response {
        fields.warnUnknown(Self.rerankKeys, logger: server.logger)
        let model = try server.checkModel(fields)
        try server.checkPooling("Rerank API")
        guard let query = try fields.string("query") else { throw APIError.invalid("'query' must be a string", param: "query") }
        let documents = try texts(fields, "documents")
        let topN = try fields.int("top_n") ?? 0
        guard topN >= 0 else { throw APIError.invalid("top_n must be at least 0, got \(topN)", param: "top_n") }
        let returnDocuments = try fields.bool("return_documents") ?? true
        let (vectors, promptTokens) = try await embed([query] + documents, fields)
        let scored = documents.indices.map { ($0, ServerContext.cosine(vectors[0], vectors[1 + $0])) }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        let kept = topN > 0 ? Array(scored.prefix(topN)) : scored
        let results: [JSONValue] = kept.map { index, score in
            .object(["index": Responses.number(index), "document": returnDocuments ? .object(["text": .string(documents[index])]) : .null,
                     "relevance_score": .number(score)])
        }
        return Responses.json(.object(["id": .string(Responses.newID("rerank-")), "model": .string(model),
                                       "usage": .object(["prompt_tokens": Responses.number(promptTokens), "total_tokens": Responses.number(promptTokens)]),
                                       "results": .array(results)]))
    }

    /// A field that is a string or a non-empty list of strings.
    private func texts(_ fields: RequestFields, _ key: String) throws -> [String] {
        guard let list = try fields.strings(key), !list.isEmpty else {
            throw APIError.invalid("'\(key)' is required: a string or a non-empty list of strings", param: key)
        }
        try server.checkPromptCount(list.count, param: key)
        return list
    }

    /// Every text's vector and the tokens they took.
    private func embed(_ texts: [String], _ fields: RequestFields) async throws -> (vectors: [[Float]], promptTokens: Int) {
        let parameters = try server.poolingParameters(fields)
        let prompts = await server.tokenize(texts, addSpecialTokens: try fields.bool("add_special_tokens") ?? true)
        let outputs = try await server.pool(prompts, parameters: parameters, priority: try fields.int("priority") ?? 0)
        return (outputs.map { $0.embedding ?? [] }, outputs.reduce(0) { $0 + $1.promptTokenCount })
    }
}
