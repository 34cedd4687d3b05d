import VLLMTokenizers

/// One input's embedding.
public struct EmbeddingResult: Sendable {
    /// The tokens the model saw (after truncation).
    public var promptTokenIDs: [Int32]
    /// The pooled vector (unit length when the model normalizes).
    public var embedding: [Float]
}

extension LLM {
    /// Embeds every text with a pooling model (vLLM's `LLM.embed`), all batched together; results in input order.
    /// Texts get the tokenizer's special tokens (`[CLS]` ... `[SEP]`); with `truncate` (the default, as
    /// sentence-transformers does) a text longer than the model length keeps its first tokens and its last special
    /// token, otherwise it is an error naming the lengths.
    public func embed(_ texts: [String], _ parameters: PoolingParameters = PoolingParameters(), truncate: Bool = true) throws -> [EmbeddingResult] {
        try embed(promptTokenIDs: texts.map { tokenizer.promptTokenIDs($0) }, parameters, truncate: truncate)
    }

    /// Embeds one text.
    public func embed(_ text: String, _ parameters: PoolingParameters = PoolingParameters(), truncate: Bool = true) throws -> [Float] {
        try embed([text], parameters, truncate: truncate)[0].embedding
    }

    /// Embeds tokenized inputs; results in input order.
    public func embed(promptTokenIDs prompts: [[Int32]], _ parameters: PoolingParameters = PoolingParameters(),
                      truncate: Bool = true) throws -> [EmbeddingResult] {
        let inputs = truncate ? prompts.map { core.truncatedForPooling($0, to: core.maxModelLength) } : prompts
        var owner: [Int: Int] = [:]
        for (index, prompt) in inputs.enumerated() {
            try core.addPooling(id: nextID, promptTokenIDs: prompt, parameters: parameters)
            owner[nextID] = index
            nextID += 1
        }
        var results = inputs.map { EmbeddingResult(promptTokenIDs: $0, embedding: []) }
        while core.hasWork {
            for output in core.step() {
                guard let index = owner[output.requestID] else { continue }
                guard let vector = output.embedding else {
                    throw EngineError("input \(index) ended without an embedding (the KV cache cannot hold it)")
                }
                results[index].embedding = vector
            }
        }
        return results
    }
}
