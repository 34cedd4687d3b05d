import Foundation

/// Picks the next token from one row of logits: temperature, then min-p, top-k and top-p, then a draw
/// from the request's own generator (shared/SPEC.md order; penalties and biases come before this).
public enum Sampler {
    /// Index of the largest logit (the first one on ties), as greedy decoding takes.
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<logits.count where logits[i] > bestValue {
            bestValue = logits[i]
            best = i
        }
        return Int32(best)
    }

    /// Samples a token id from `logits` under `parameters`.
    public static func sample(_ logits: UnsafeBufferPointer<Float>, parameters: SamplingParameters,
                              generator: inout RandomGenerator) -> Int32 {
        if parameters.isGreedy { return argmax(logits) }
        let inverseTemperature = 1 / parameters.temperature
        var maxLogit = -Float.infinity
        for value in logits where value > maxLogit { maxLogit = value }
        guard maxLogit.isFinite else { return argmax(logits) }
        // Unnormalised probabilities; candidates are the tokens with non-zero weight.
        var candidates: [(id: Int32, weight: Double)] = []
        candidates.reserveCapacity(logits.count)
        for i in 0..<logits.count {
            let w = exp(Double(logits[i] - maxLogit) * inverseTemperature)
            if w > 0 { candidates.append((Int32(i), w)) }
        }
        if parameters.minP > 0 {
            // The top token has weight 1 after subtracting the max.
            candidates.removeAll { $0.weight < parameters.minP }
        }
        let k = parameters.topK
        let needsOrder = (k > 0 && k < candidates.count) || parameters.topP < 1
        if needsOrder {
            candidates.sort { $0.weight > $1.weight || ($0.weight == $1.weight && $0.id < $1.id) }
            if k > 0, k < candidates.count { candidates.removeLast(candidates.count - k) }
            if parameters.topP < 1 {
                let total = candidates.reduce(0) { $0 + $1.weight }
                var cumulative = 0.0
                var keep = candidates.count
                for (i, c) in candidates.enumerated() {
                    cumulative += c.weight
                    if cumulative >= parameters.topP * total { keep = i + 1; break }
                }
                candidates.removeLast(candidates.count - keep)
            }
        }
        let total = candidates.reduce(0) { $0 + $1.weight }
        var target = generator.nextUnit() * total
        for c in candidates {
            target -= c.weight
            if target < 0 { return c.id }
        }
        return candidates.last?.id ?? argmax(logits)
    }
}
