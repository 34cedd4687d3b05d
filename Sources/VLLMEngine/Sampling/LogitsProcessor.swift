/// The steps that reshape a logits row before sampling, in vLLM's order (shared/SPEC.md): allowed ids,
/// min_tokens, logit_bias, then the repetition, frequency and presence penalties.
public enum LogitsProcessor {
    /// Applies every configured step to `logits` in place.
    /// - Parameters:
    ///   - promptTokens: the request's prompt (repetition penalty covers prompt and output)
    ///   - outputTokens: tokens generated so far
    ///   - stopTokenIDs: ids that end generation (EOS and friends plus `stop_token_ids`), blocked before min_tokens
    public static func apply(_ logits: UnsafeMutableBufferPointer<Float>, parameters p: SamplingParameters,
                             promptTokens: ArraySlice<Int32>, outputTokens: ArraySlice<Int32>, stopTokenIDs: Set<Int32>) {
        let vocabulary = logits.count
        if let allowed = p.allowedTokenIDs, !allowed.isEmpty {
            var keep = [Bool](repeating: false, count: vocabulary)
            for id in allowed where id >= 0 && Int(id) < vocabulary { keep[Int(id)] = true }
            for i in 0..<vocabulary where !keep[i] { logits[i] = -.infinity }
        }
        if outputTokens.count < p.minTokens {
            for id in stopTokenIDs where id >= 0 && Int(id) < vocabulary { logits[Int(id)] = -.infinity }
        }
        if let bias = p.logitBias {
            for (id, value) in bias where id >= 0 && Int(id) < vocabulary {
                logits[Int(id)] += Float(max(-100, min(100, value)))
            }
        }
        if p.repetitionPenalty != 1 {
            let penalty = Float(p.repetitionPenalty)
            var seen = Set<Int32>()
            for id in promptTokens where seen.insert(id).inserted { penalize(&logits[Int(id)], penalty) }
            for id in outputTokens where seen.insert(id).inserted { penalize(&logits[Int(id)], penalty) }
        }
        if p.frequencyPenalty != 0 || p.presencePenalty != 0 {
            var counts: [Int32: Int] = [:]
            for id in outputTokens { counts[id, default: 0] += 1 }
            for (id, count) in counts {
                logits[Int(id)] -= Float(p.frequencyPenalty) * Float(count) + Float(p.presencePenalty)
            }
        }
    }

    /// Hugging Face / vLLM repetition penalty: divide positive logits, multiply negative ones.
    @inline(__always) static func penalize(_ value: inout Float, _ penalty: Float) {
        value = value > 0 ? value / penalty : value * penalty
    }
}
