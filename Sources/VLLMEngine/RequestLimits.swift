/// The limits a request is checked against before it enters the engine, readable from any thread.
public struct RequestLimits: Sendable, Equatable {
    public var maxModelLength: Int
    public var vocabularySize: Int
    /// Token slots in the KV cache.
    public var kvCacheTokens: Int

    public init(maxModelLength: Int, vocabularySize: Int, kvCacheTokens: Int) {
        self.maxModelLength = maxModelLength
        self.vocabularySize = vocabularySize
        self.kvCacheTokens = kvCacheTokens
    }

    /// Checks a prompt and its max_tokens; the message names both numbers, as vLLM's does.
    public func validate(promptTokenIDs: [Int32], parameters: SamplingParameters) throws(EngineError) {
        guard !promptTokenIDs.isEmpty else { throw EngineError("the prompt is empty") }
        if let bad = promptTokenIDs.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw EngineError("token id \(bad) is out of vocabulary (0..<\(vocabularySize))")
        }
        guard promptTokenIDs.count < maxModelLength else {
            throw EngineError("This model's maximum context length is \(maxModelLength) tokens. However, your request has \(promptTokenIDs.count) input tokens. Please reduce the length of the input messages.")
        }
        if let maxTokens = parameters.maxTokens, promptTokenIDs.count + maxTokens > maxModelLength {
            throw EngineError("'max_tokens' is too large: \(maxTokens). This model's maximum context length is \(maxModelLength) tokens and your request has \(promptTokenIDs.count) input tokens (\(promptTokenIDs.count) + \(maxTokens) > \(maxModelLength)).")
        }
        guard promptTokenIDs.count + 1 <= kvCacheTokens else {
            throw EngineError("the request needs \(promptTokenIDs.count + 1) KV cache slots but the cache holds \(kvCacheTokens); raise --kv-cache-space")
        }
    }

    /// Checks the parameters that name token ids against the vocabulary, with vLLM's messages: `logit_bias` and
    /// `allowed_token_ids` (vLLM's `_validate_logit_bias` and `_validate_sampling_params`), and `stop_token_ids`.
    public func validateTokenIDs(_ parameters: SamplingParameters) throws(InvalidParameter) {
        let inVocabulary = { (id: Int32) in id >= 0 && Int(id) < vocabularySize }
        if let bias = parameters.logitBias {
            let invalid = bias.keys.filter { !inVocabulary($0) }.sorted()
            if !invalid.isEmpty {
                throw InvalidParameter("logit_bias", "token_id(s) \(invalid) in logit_bias contain out-of-vocab token ids. Vocabulary size: \(vocabularySize)")
            }
        }
        if let allowed = parameters.allowedTokenIDs {
            let invalid = allowed.filter { !inVocabulary($0) }
            if !invalid.isEmpty {
                throw InvalidParameter("allowed_token_ids", "allowed_token_ids contains out-of-vocab token id! \(invalid) (vocabulary size \(vocabularySize))")
            }
        }
        let invalidStops = parameters.stopTokenIDs.filter { !inVocabulary($0) }
        if !invalidStops.isEmpty {
            throw InvalidParameter("stop_token_ids", "stop_token_ids contains out-of-vocab token id(s) \(invalidStops) (vocabulary size \(vocabularySize))")
        }
    }
}
