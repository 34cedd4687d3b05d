extension SamplingParameters {
    /// Decodes the fields present in a JSON object (vLLM's snake_case names), defaulting the rest;
    /// unknown keys are ignored so that a request body or a prompts-file line can carry other fields.
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        n = try c.decodeIfPresent(Int.self, forKey: .n) ?? n
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature) ?? temperature
        topP = try c.decodeIfPresent(Double.self, forKey: .topP) ?? topP
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? topK
        minP = try c.decodeIfPresent(Double.self, forKey: .minP) ?? minP
        presencePenalty = try c.decodeIfPresent(Double.self, forKey: .presencePenalty) ?? presencePenalty
        frequencyPenalty = try c.decodeIfPresent(Double.self, forKey: .frequencyPenalty) ?? frequencyPenalty
        repetitionPenalty = try c.decodeIfPresent(Double.self, forKey: .repetitionPenalty) ?? repetitionPenalty
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
        if let one = try? c.decodeIfPresent(String.self, forKey: .stop) { stop = [one] } else {
            stop = try c.decodeIfPresent([String].self, forKey: .stop) ?? []
        }
        stopTokenIDs = try c.decodeIfPresent([Int32].self, forKey: .stopTokenIDs) ?? []
        includeStopStringInOutput = try c.decodeIfPresent(Bool.self, forKey: .includeStopStringInOutput) ?? false
        ignoreEOS = try c.decodeIfPresent(Bool.self, forKey: .ignoreEOS) ?? false
        if c.contains(.maxTokens) { maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens) }
        minTokens = try c.decodeIfPresent(Int.self, forKey: .minTokens) ?? 0
        logprobs = try c.decodeIfPresent(Int.self, forKey: .logprobs)
        promptLogprobs = try c.decodeIfPresent(Int.self, forKey: .promptLogprobs)
        if let bias = try c.decodeIfPresent([String: Double].self, forKey: .logitBias) {
            var parsed: [Int32: Double] = [:]
            for (key, value) in bias {
                guard let id = Int32(key) else {
                    throw DecodingError.dataCorruptedError(forKey: .logitBias, in: c, debugDescription: "logit_bias keys must be token ids, got '\(key)'")
                }
                parsed[id] = value
            }
            logitBias = parsed
        }
        allowedTokenIDs = try c.decodeIfPresent([Int32].self, forKey: .allowedTokenIDs)
        skipSpecialTokens = try c.decodeIfPresent(Bool.self, forKey: .skipSpecialTokens) ?? true
        spacesBetweenSpecialTokens = try c.decodeIfPresent(Bool.self, forKey: .spacesBetweenSpecialTokens) ?? true
        cacheSalt = try c.decodeIfPresent(String.self, forKey: .cacheSalt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(n, forKey: .n)
        try c.encode(temperature, forKey: .temperature)
        try c.encode(topP, forKey: .topP)
        try c.encode(topK, forKey: .topK)
        try c.encode(minP, forKey: .minP)
        try c.encode(presencePenalty, forKey: .presencePenalty)
        try c.encode(frequencyPenalty, forKey: .frequencyPenalty)
        try c.encode(repetitionPenalty, forKey: .repetitionPenalty)
        try c.encodeIfPresent(seed, forKey: .seed)
        try c.encode(stop, forKey: .stop)
        try c.encode(stopTokenIDs, forKey: .stopTokenIDs)
        try c.encode(ignoreEOS, forKey: .ignoreEOS)
        try c.encodeIfPresent(maxTokens, forKey: .maxTokens)
        try c.encode(minTokens, forKey: .minTokens)
        try c.encodeIfPresent(logprobs, forKey: .logprobs)
    }
}
