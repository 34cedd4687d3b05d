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
            return draw(weights, count: logits.count, target: generator.nextUnit() * total)
        }
        // Ordered candidates (Sampler+Candidates.swift): the k first, then top-p over them, as a full sort would
        // give; or top-p over the whole row, its total summed in index order.
        var candidates: [Int32]
        if k > 0, k < logits.count {
            let (first, count) = topK(weights, count: logits.count, k: k, minP: minP)
            candidates = first
            if parameters.topP < 1 {
                let total = candidates.reduce(0.0) { $0 + Double(weights[Int($1)]) }
                var cumulative = 0.0
                for (i, id) in candidates.enumerated() {
                    cumulative += Double(weights[Int(id)])
                    if cumulative >= parameters.topP * total { candidates.removeLast(candidates.count - i - 1); break }
                }
            } else if count <= k {
                candidates.sort()  // nothing dropped: the draw runs in index order, as without top-k
            }
        } else {
            if minP > 0 {
                total = 0
                for i in 0..<logits.count where weights[i] >= minP { total += Double(weights[i]) }
            }
            candidates = nucleus(weights, count: logits.count, topP: parameters.topP, total: total, minP: minP)
        }
        let kept = candidates.reduce(0.0) { $0 + Double(weights[Int($1)]) }
        var target = generator.nextUnit() * kept
        for id in candidates {
            target -= Double(weights[Int(id)])
            if target < 0 { return id }
        }
        return candidates.last ?? argmax(logits)
    }
}
