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
        // Min-p drops the weights below min_p (the top token's weight is 1); the candidates are the positive weights.
        let minP = Float(parameters.minP)
        if minP > 0 {
            total = 0
            for i in 0..<logits.count { if weights[i] < minP { weights[i] = 0 } else { total += Double(weights[i]) } }
        }
        let k = parameters.topK
        if k <= 0 || k >= logits.count, parameters.topP >= 1 {
            return draw(weights, count: logits.count, target: generator.nextUnit() * total)  // no ordering needed
        }
        // Ordered candidates (Sampler+Candidates.swift): the k first, then top-p over them, as a full sort would
        // give; or top-p over the whole row, its total summed in index order.
        var candidates: [Int32]
        if k > 0, k < logits.count {
            let (first, count) = topK(weights, count: logits.count, k: k)
            candidates = first
            if parameters.topP < 1 {
                let total = candidates.reduce(0.0) { $0 + Double(weights[Int($1)]) }
                if let kept = nucleusLength(candidates, weights, topP: parameters.topP, total: total) {
                    candidates.removeLast(candidates.count - kept)
                }
            } else if count <= k {
                candidates.sort()  // nothing dropped: the draw runs in index order, as without top-k
            }
        } else {
            candidates = nucleus(weights, count: logits.count, topP: parameters.topP, total: total)
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
