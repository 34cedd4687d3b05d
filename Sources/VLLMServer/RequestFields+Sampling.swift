import Foundation
import VLLMEngine

/// The sampling fields every generation endpoint accepts (shared/SPEC.md), decoded as vLLM's request models and
/// `SamplingParams.from_optional` decode them. Fields we recognise but cannot honour are refused by name (400),
/// never accepted and ignored. A field left out takes the model's generation-config default (`defaults`, vLLM's
/// `default_sampling_params`), else vLLM's; its `max_new_tokens` caps `max_tokens` (vLLM's `get_max_tokens`).
extension RequestFields {
    func samplingParameters(maxTokensKeys: [String] = ["max_tokens"], defaults: SamplingDefaults = SamplingDefaults()) throws(APIError) -> SamplingParameters {
        try refuseUnsupported()
        var p = SamplingParameters()
        p.maxTokens = nil
        p.n = try int("n") ?? 1
        p.temperature = try double("temperature") ?? defaults.temperature ?? 1
        p.topP = try double("top_p") ?? defaults.topP ?? 1
        p.topK = try int("top_k") ?? defaults.topK ?? 0
        p.minP = try double("min_p") ?? defaults.minP ?? 0
        p.presencePenalty = try double("presence_penalty") ?? 0
        p.frequencyPenalty = try double("frequency_penalty") ?? 0
        p.repetitionPenalty = try double("repetition_penalty") ?? defaults.repetitionPenalty ?? 1
        if let seed = try int("seed") { p.seed = UInt64(bitPattern: Int64(seed)) }
        p.stop = try strings("stop") ?? []
        p.stopTokenIDs = try tokenIDs("stop_token_ids") ?? []
        p.includeStopStringInOutput = try bool("include_stop_str_in_output") ?? false
        p.ignoreEOS = try bool("ignore_eos") ?? false
        for key in maxTokensKeys { if let m = try int(key) { p.maxTokens = m } }
        p.maxTokens = defaults.cappedMaxTokens(p.maxTokens)
        p.minTokens = try int("min_tokens") ?? 0
        p.skipSpecialTokens = try bool("skip_special_tokens") ?? true
        p.spacesBetweenSpecialTokens = try bool("spaces_between_special_tokens") ?? true
        p.allowedTokenIDs = try tokenIDs("allowed_token_ids")
        p.logitBias = try logitBias()
        p.promptLogprobs = try int("prompt_logprobs")
        p.badWords = try strings("bad_words") ?? []
        p.cacheSalt = try string("cache_salt")
        p.structuredOutputs = try structuredOutputs()
        return p
    }

    /// Recognised fields this server cannot honour. vLLM V1 refuses `best_of` above 1 the same way ("vLLM V1 does
    /// not yet support best_of."). Prompt logprobs come with a whole answer only, as in vLLM.
    private func refuseUnsupported() throws(APIError) {
        if try bool("stream") == true, let k = try int("prompt_logprobs"), k > 0 || k == -1 {
            throw .invalid("`prompt_logprobs` are not available when `stream=True`.", param: "prompt_logprobs")
        }
        if let bestOf = try int("best_of"), bestOf != 1 {
            throw .invalid("best_of is not supported (as in vLLM V1), got \(bestOf); use n for several samples", param: "best_of")
        }
        if try bool("use_beam_search") != true, let penalty = try double("length_penalty"), penalty != 1 {
            throw .invalid("length_penalty applies to beam search only (use_beam_search)", param: "length_penalty")
        }
    }

    /// vLLM's `use_beam_search`: `n` beams (`to_beam_search_params`: the request's `max_tokens`, `temperature`,
    /// `ignore_eos`, `length_penalty` and `include_stop_str_in_output`). vLLM drops every other sampling field there;
    /// here one the request sets is refused by name instead (the model's generation-config defaults are not the
    /// request's and stay out, as in vLLM). nil without it.
    func beamSearch(_ parameters: SamplingParameters, maxTokens: Int) throws(APIError) -> BeamSearch? {
        guard try bool("use_beam_search") == true else { return nil }
        let p = parameters
        let dropped: [(String, Bool)] = [
            ("top_p", p.topP != 1), ("top_k", p.topK > 0), ("min_p", p.minP != 0), ("presence_penalty", p.presencePenalty != 0),
            ("frequency_penalty", p.frequencyPenalty != 0), ("repetition_penalty", p.repetitionPenalty != 1), ("stop", !p.stop.isEmpty),
            ("stop_token_ids", !p.stopTokenIDs.isEmpty), ("min_tokens", p.minTokens != 0), ("logit_bias", !(p.logitBias?.isEmpty ?? true)),
            ("allowed_token_ids", p.allowedTokenIDs != nil), ("bad_words", !p.badWords.isEmpty), ("seed", true), ("prompt_logprobs", true),
        ]
        for (key, set) in dropped where self[key] != nil && set {
            throw .invalid("\(key) does not apply to beam search, which takes n, max_tokens, temperature, ignore_eos, length_penalty and include_stop_str_in_output (as vLLM's)", param: key)
        }
        if p.structuredOutputs != nil {
            throw .invalid("beam search cannot constrain its output (response_format, structured_outputs, or a required or named tool_choice)", param: "use_beam_search")
        }
        var search = BeamSearch(beamWidth: parameters.n, maxTokens: maxTokens)
        search.temperature = parameters.temperature
        search.ignoreEOS = parameters.ignoreEOS
        search.lengthPenalty = try double("length_penalty") ?? 1
        search.includeStopStringInOutput = parameters.includeStopStringInOutput
        return search
    }

    /// A list of token ids: whole numbers. One beyond Int32 is out of every vocabulary and refused here with the
    /// number as sent (it used to wrap around: 2^32 + 5 became 5); the rest are checked against the vocabulary by
    /// `RequestLimits.validateTokenIDs`.
    func tokenIDs(_ key: String) throws(APIError) -> [Int32]? {
        guard let v = self[key] else { return nil }
        guard let a = v.array else { throw Self.type(key, "an array of integers", v) }
        var out: [Int32] = []
        out.reserveCapacity(a.count)
        for element in a {
            guard let n = element.number, n == n.rounded() else { throw Self.type(key, "an array of integers", v) }
            guard let id = Int32(exactly: n) else {
                throw .invalid("\(key) contains out-of-vocab token id! [\(Self.integerText(n))]", param: key)
            }
            out.append(id)
        }
        return out
    }

    /// A whole number as Python prints it (no ".0").
    static func integerText(_ n: Double) -> String {
        if let exact = Int64(exactly: n) { return String(exact) }
        return String(format: "%.0f", n)
    }

    /// `logit_bias`: keys are token ids written as strings (Python's `int(key)`: optional sign and surrounding
    /// spaces), values numbers clamped to [-100, 100], as vLLM's `SamplingParams.from_optional` does.
    private func logitBias() throws(APIError) -> [Int32: Double]? {
        guard let bias = try object("logit_bias") else { return nil }
        var parsed: [Int32: Double] = [:]
        var invalidKeys: [String] = []
        var outOfRange: [String] = []
        for key in bias.keys.sorted() {
            guard let integer = Self.integerKey(key) else { invalidKeys.append(key); continue }
            guard let id = Int32(exactly: integer) else { outOfRange.append(key); continue }
            guard let value = bias[key]?.number else {
                throw .invalid("logit_bias values must be numbers, got \(bias[key]?.typeName ?? "null") for key '\(key)'", param: "logit_bias")
            }
            parsed[id] = min(100, max(-100, value))
        }
        if !invalidKeys.isEmpty {
            let list = invalidKeys.map { "'\($0)'" }.joined(separator: ", ")
            throw .invalid("logit_bias contains key(s) that cannot be converted to integer token IDs: [\(list)]", param: "logit_bias")
        }
        if !outOfRange.isEmpty {
            let list = outOfRange.map { "'\($0)'" }.joined(separator: ", ")
            throw .invalid("token_id(s) [\(list)] in logit_bias contain out-of-vocab token ids.", param: "logit_bias")
        }
        return parsed
    }

    /// Python's `int(str)` for the common forms: surrounding whitespace, an optional sign, decimal digits (and
    /// single underscores between digits). Integers beyond Int64 become its bounds: out of any vocabulary anyway.
    static func integerKey(_ key: String) -> Int64? {
        var text = Substring(key.trimmingCharacters(in: .whitespacesAndNewlines))
        var negative = false
        if let sign = text.first, sign == "+" || sign == "-" { negative = sign == "-"; text = text.dropFirst() }
        guard let first = text.first, let last = text.last, first.isASCIIDigit, last.isASCIIDigit,
              text.allSatisfy({ $0.isASCIIDigit || $0 == "_" }), !text.contains("__") else { return nil }
        let digits = text.filter { $0 != "_" }
        guard let magnitude = Int64(digits) else { return negative ? .min : .max }
        return negative ? -magnitude : magnitude
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
