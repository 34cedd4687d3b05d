/// `allowed_token_ids`: every other id gets -inf.
public final class AllowedTokenIDsProcessor: LogitsProcessor {
    public init() {}
    public func applies(to p: SamplingParameters) -> Bool { !(p.allowedTokenIDs?.isEmpty ?? true) }
    public func apply(_ logits: UnsafeMutableBufferPointer<Float>, _ context: LogitsContext) {
        let vocabulary = logits.count
        var keep = [Bool](repeating: false, count: vocabulary)
        for id in context.parameters.allowedTokenIDs ?? [] where id >= 0 && Int(id) < vocabulary { keep[Int(id)] = true }
        for i in 0..<vocabulary where !keep[i] { logits[i] = -.infinity }
    }
}

/// `min_tokens`: the ids that end generation get -inf until that many tokens are out.
public final class MinTokensProcessor: LogitsProcessor {
    public init() {}
    public func applies(to p: SamplingParameters) -> Bool { p.minTokens > 0 }
    public func apply(_ logits: UnsafeMutableBufferPointer<Float>, _ context: LogitsContext) {
        guard context.outputTokens.count < context.parameters.minTokens else { return }
        for id in context.stopTokenIDs where id >= 0 && Int(id) < logits.count { logits[Int(id)] = -.infinity }
    }
}

/// `logit_bias`: adds each id's bias, clamped to [-100, 100] as OpenAI does.
public final class LogitBiasProcessor: LogitsProcessor {
    public init() {}
    public func applies(to p: SamplingParameters) -> Bool { !(p.logitBias?.isEmpty ?? true) }
    public func apply(_ logits: UnsafeMutableBufferPointer<Float>, _ context: LogitsContext) {
        for (id, value) in context.parameters.logitBias ?? [:] where id >= 0 && Int(id) < logits.count {
            logits[Int(id)] += Float(max(-100, min(100, value)))
        }
    }
}

/// `repetition_penalty` (Hugging Face's and vLLM's): every id seen in the prompt or the output has its logit divided
/// by the penalty when positive, multiplied when negative.
public final class RepetitionPenaltyProcessor: LogitsProcessor {
    public init() {}
    public func applies(to p: SamplingParameters) -> Bool { p.repetitionPenalty != 1 }
    public func apply(_ logits: UnsafeMutableBufferPointer<Float>, _ context: LogitsContext) {
        let penalty = Float(context.parameters.repetitionPenalty)
        var seen = Set<Int32>()
        for id in context.promptTokens where seen.insert(id).inserted { Self.penalize(&logits[Int(id)], penalty) }
        for id in context.outputTokens where seen.insert(id).inserted { Self.penalize(&logits[Int(id)], penalty) }
    }

    @inline(__always) static func penalize(_ value: inout Float, _ penalty: Float) {
        value = value > 0 ? value / penalty : value * penalty
    }
}

/// `frequency_penalty` and `presence_penalty` (OpenAI's): each output id loses `frequency × count + presence`.
public final class OccurrencePenaltyProcessor: LogitsProcessor {
    public init() {}
    public func applies(to p: SamplingParameters) -> Bool { p.frequencyPenalty != 0 || p.presencePenalty != 0 }
    public func apply(_ logits: UnsafeMutableBufferPointer<Float>, _ context: LogitsContext) {
        let p = context.parameters
        var counts: [Int32: Int] = [:]
        for id in context.outputTokens { counts[id, default: 0] += 1 }
        for (id, count) in counts where id >= 0 && Int(id) < logits.count {
            logits[Int(id)] -= Float(p.frequencyPenalty) * Float(count) + Float(p.presencePenalty)
        }
    }
}
