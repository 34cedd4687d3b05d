import Foundation
import VLLMKernels

/// Picks the next token from one row of logits: temperature, then min-p, top-k and top-p, then a draw
/// from the request's own generator (shared/SPEC.md order; penalties and biases come before this).
public enum Sampler {
    /// Index of the largest logit (the first one on ties), as greedy decoding takes.
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        Int32(Kernels.argmax(logits))
    }

    /// Samples a token id from `logits` under `parameters`. `scratch` (reused across calls by the engine)
    /// holds the row's unnormalised probabilities.
    public static func sample(_ logits: UnsafeBufferPointer<Float>, parameters: SamplingParameters,
                              generator: inout RandomGenerator, scratch: AlignedBuffer<Float> = AlignedBuffer<Float>()) -> Int32 {
        if parameters.isGreedy { return argmax(logits) }
        let top = Int(argmax(logits))
        let maxLogit = logits[top]
        guard maxLogit.isFinite else { return Int32(top) }
        // Unnormalised probabilities exp((logit - max) / T): the top token has weight 1.
        let weights = scratch.reserve(logits.count)
        var total = Kernels.expScaled(logits.baseAddress!, into: weights, count: logits.count, shift: maxLogit, scale: Float(1 / parameters.temperature))
        let minP = Float(parameters.minP)
        let k = parameters.topK
        if k <= 0 || k >= logits.count, parameters.topP >= 1 {
            // No ordering needed: min-p drops weights below min_p, then one draw over what is left.
            if minP > 0 {
                total = 0
                for i in 0..<logits.count { if weights[i] < minP { weights[i] = 0 } else { total += Double(weights[i]) } }
            }
            var target = generator.nextUnit() * total
            var last = top
            for i in 0..<logits.count where weights[i] > 0 {
                target -= Double(weights[i])
                last = i
                if target < 0 { return Int32(i) }
            }
            return Int32(last)
        }
        var candidates: [(id: Int32, weight: Double)] = []
        candidates.reserveCapacity(logits.count)
        for i in 0..<logits.count where weights[i] > 0 && weights[i] >= minP { candidates.append((Int32(i), Double(weights[i]))) }
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
        let kept = candidates.reduce(0) { $0 + $1.weight }
        var target = generator.nextUnit() * kept
        for c in candidates {
            target -= c.weight
            if target < 0 { return c.id }
        }
        return candidates.last?.id ?? argmax(logits)
    }
}
