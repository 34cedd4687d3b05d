import VLLMModels

extension EngineCore {
    /// Whether this engine pools (embeddings) instead of generating.
    public var isPooling: Bool { runner.pooler != nil }

    /// Queues a pooling (embedding) request: prefill only, batched with the others, its blocks freed once its
    /// vector is out. The one output carries `embedding`. `id` must be unique among live requests.
    public func addPooling(id: Int, promptTokenIDs: [Int32], parameters: PoolingParameters = PoolingParameters(), priority: Int = 0) throws {
        guard let pooler = runner.pooler else { throw EngineError.generativeModelCannotPool(model.configuration.architecture) }
        let keep = parameters.truncatePromptTokens.map { $0 < 0 ? maxModelLength : $0 }
        let promptTokenIDs = keep.map { truncatedForPooling(promptTokenIDs, to: $0) } ?? promptTokenIDs
        try limits.validatePooling(promptTokenIDs: promptTokenIDs)
        try pooler.validate(parameters, hiddenSize: model.configuration.hiddenSize)
        guard !scheduler.running.contains(where: { $0.id == id }), !scheduler.waiting.contains(where: { $0.id == id }) else {
            throw EngineError("request id \(id) is already in use")
        }
        let request = Request(id: id, promptTokenIDs: promptTokenIDs, parameters: SamplingParameters(maxTokens: 1),
                              maxModelLength: maxModelLength + 1, priority: priority, pooling: parameters)
        scheduleAdd(request)
    }

    /// Cuts a prompt longer than `length` tokens to its first `length - 1` tokens and its last when that is the
    /// special token the tokenizer ends inputs with (BERT's `[SEP]`), as sentence-transformers truncates; to its first
    /// `length` otherwise.
    public func truncatedForPooling(_ promptTokenIDs: [Int32], to length: Int) -> [Int32] {
        guard promptTokenIDs.count > length, length >= 1 else { return promptTokenIDs }
        let keepsSeparator = length >= 2 && tokenizer.addEOS && promptTokenIDs.last == tokenizer.eosTokenID
        return keepsSeparator ? Array(promptTokenIDs.prefix(length - 1)) + [promptTokenIDs.last!] : Array(promptTokenIDs.prefix(length))
    }
}

extension RequestLimits {
    /// Checks a pooling prompt: non-empty, in the vocabulary, and at most the model length (a pooling request
    /// generates nothing, so the whole context is its), with vLLM's message.
    public func validatePooling(promptTokenIDs: [Int32]) throws(EngineError) {
        guard !promptTokenIDs.isEmpty else { throw EngineError("the input is empty (no tokens)") }
        if let bad = promptTokenIDs.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw EngineError("token id \(bad) is out of vocabulary (0..<\(vocabularySize))")
        }
        guard promptTokenIDs.count <= maxModelLength else {
            throw EngineError("This model's maximum context length is \(maxModelLength) tokens. However, you requested \(promptTokenIDs.count) tokens in the input for embedding generation. Please reduce the length of the input or set truncate_prompt_tokens.")
        }
        guard promptTokenIDs.count <= kvCacheTokens else {
            throw EngineError("the request needs \(promptTokenIDs.count) KV cache slots but the cache holds \(kvCacheTokens); raise --kv-cache-space")
        }
    }
}

extension EngineError {
    static func poolingModelCannotGenerate(_ architecture: String) -> EngineError {
        EngineError("this server runs a pooling (embedding) model ('\(architecture)'): it answers /v1/embeddings, /score and /rerank, not text generation")
    }

    static func generativeModelCannotPool(_ architecture: String) -> EngineError {
        EngineError("this model ('\(architecture)') runs as a generative model: embeddings need a pooling model (an embedding model's folder, or --convert embed)")
    }
}
