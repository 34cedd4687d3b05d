import VLLMGrammar

/// How to sample one request's tokens (vLLM's `SamplingParams`; defaults as in shared/SPEC.md). JSON requests are
/// decoded into it by one decoder, the server's (`vllm generate --input` lines go through it too).
public struct SamplingParameters: Sendable, Equatable {
    public var n: Int = 1
    /// 0 means greedy.
    public var temperature: Double = 1.0
    public var topP: Double = 1.0
    /// 0 or -1 disables.
    public var topK: Int = 0
    public var minP: Double = 0.0
    public var presencePenalty: Double = 0.0
    public var frequencyPenalty: Double = 0.0
    public var repetitionPenalty: Double = 1.0
    public var seed: UInt64? = nil
    public var stop: [String] = []
    public var stopTokenIDs: [Int32] = []
    public var includeStopStringInOutput: Bool = false
    public var ignoreEOS: Bool = false
    public var maxTokens: Int? = 16
    public var minTokens: Int = 0
    public var logprobs: Int? = nil
    public var promptLogprobs: Int? = nil
    public var logitBias: [Int32: Double]? = nil
    public var allowedTokenIDs: [Int32]? = nil
    /// vLLM's `bad_words`: words the output must not contain. Each is tokenized (as it starts a text and after a
    /// space) into `badWordsTokenIDs`: by the server before the request queues, else by the engine when it is added.
    public var badWords: [String] = []
    /// The token sequences of `badWords` (`BadWordsProcessor.tokenSequences`).
    public var badWordsTokenIDs: [[Int32]] = []
    public var skipSpecialTokens: Bool = true
    public var spacesBetweenSpecialTokens: Bool = true
    /// vLLM's `cache_salt`: mixed into every prefix-cache block hash, so requests with different salts never share
    /// cached blocks (nor can time each other's prompts through them).
    public var cacheSalt: String? = nil
    /// vLLM's `structured_outputs`: the output must be a sentence of this grammar (JSON schema, regex, choice, EBNF).
    public var structuredOutputs: StructuredOutputs? = nil

    public init() {}

    public init(temperature: Double = 1.0, topP: Double = 1.0, topK: Int = 0, maxTokens: Int? = 16, seed: UInt64? = nil) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.maxTokens = maxTokens
        self.seed = seed
    }

    /// Whether sampling is greedy (argmax).
    public var isGreedy: Bool { temperature == 0 }

    /// Checks every field's range; the error names the parameter, as vLLM's does.
    public func validate(maxLogprobs: Int = 20) throws(InvalidParameter) {
        guard n >= 1 else { throw InvalidParameter("n", "n must be at least 1, got \(n)") }
        guard temperature >= 0, temperature.isFinite else { throw InvalidParameter("temperature", "temperature must be non-negative, got \(temperature)") }
        guard topP > 0, topP <= 1 else { throw InvalidParameter("top_p", "top_p must be in (0, 1], got \(topP)") }
        guard topK >= -1 else { throw InvalidParameter("top_k", "top_k must be -1 (disable), 0 (disable) or at least 1, got \(topK)") }
        guard minP >= 0, minP <= 1 else { throw InvalidParameter("min_p", "min_p must be in [0, 1], got \(minP)") }
        guard (-2...2).contains(presencePenalty) else { throw InvalidParameter("presence_penalty", "presence_penalty must be in [-2, 2], got \(presencePenalty)") }
        guard (-2...2).contains(frequencyPenalty) else { throw InvalidParameter("frequency_penalty", "frequency_penalty must be in [-2, 2], got \(frequencyPenalty)") }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else { throw InvalidParameter("repetition_penalty", "repetition_penalty must be greater than zero, got \(repetitionPenalty)") }
        if let maxTokens, maxTokens < 1 { throw InvalidParameter("max_tokens", "max_tokens must be at least 1, got \(maxTokens)") }
        guard minTokens >= 0 else { throw InvalidParameter("min_tokens", "min_tokens must be greater than or equal to 0, got \(minTokens)") }
        if let maxTokens, minTokens > maxTokens { throw InvalidParameter("min_tokens", "min_tokens must be less than or equal to max_tokens=\(maxTokens), got \(minTokens)") }
        if let logprobs, logprobs < 0 || (maxLogprobs != -1 && logprobs > maxLogprobs) { throw InvalidParameter("logprobs", "logprobs must be in [0, \(maxLogprobs)], got \(logprobs)") }
        if let promptLogprobs {
            // vLLM's checks and words: -1 is the whole vocabulary, allowed only where --max-logprobs is -1 too.
            guard promptLogprobs >= -1 else {
                throw InvalidParameter("prompt_logprobs", "prompt_logprobs must be non-negative or -1, got \(promptLogprobs).")
            }
            if maxLogprobs != -1, promptLogprobs == -1 || promptLogprobs > maxLogprobs {
                let asked = promptLogprobs == -1 ? "-1 (the whole vocabulary)" : "\(promptLogprobs)"
                throw InvalidParameter("prompt_logprobs", "Requested prompt logprobs of \(asked), which is greater than max allowed: \(maxLogprobs)")
            }
        }
        if let cacheSalt, cacheSalt.isEmpty { throw InvalidParameter("cache_salt", "Parameter 'cache_salt' must be a non-empty string if provided.") }
        if let cacheSalt, cacheSalt.unicodeScalars.count > 1024 {
            throw InvalidParameter("cache_salt", "cache_salt must have at most 1024 characters, got \(cacheSalt.unicodeScalars.count)")
        }
        if let allowedTokenIDs, allowedTokenIDs.isEmpty { throw InvalidParameter("allowed_token_ids", "allowed_token_ids is not None and empty!") }
    }
}

/// A sampling or request parameter out of range; `parameter` is the wire name.
public struct InvalidParameter: Error, CustomStringConvertible, Sendable, Equatable {
    public let parameter: String
    public let message: String

    public init(_ parameter: String, _ message: String) {
        self.parameter = parameter
        self.message = message
    }

    public var description: String { message }
}

extension SamplingParameters {
    /// The ids that end generation for a request with these parameters: `stop_token_ids`, and the model's
    /// end-of-generation ids unless `ignore_eos`.
    public func stopTokenIDs(endOfGeneration: Set<Int32>) -> Set<Int32> {
        ignoreEOS ? Set(stopTokenIDs) : endOfGeneration.union(stopTokenIDs)
    }

    /// Whether `token` ends generation (see `stopTokenIDs(endOfGeneration:)`).
    public func isStopToken(_ token: Int32, endOfGeneration: Set<Int32>) -> Bool {
        stopTokenIDs.contains(token) || (!ignoreEOS && endOfGeneration.contains(token))
    }
}
