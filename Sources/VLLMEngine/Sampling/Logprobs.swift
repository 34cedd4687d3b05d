import Foundation
import VLLMKernels

/// Log-probabilities of one sampled position: the chosen token and the most likely alternatives.
public struct TokenLogprobs: Sendable, Equatable {
    public var tokenID: Int32
    public var logprob: Float
    /// Rank of the chosen token among all (1 = most likely).
    public var rank: Int
    /// The top-k tokens, most likely first.
    public var top: [(id: Int32, logprob: Float)]

    public static func == (a: TokenLogprobs, b: TokenLogprobs) -> Bool {
        a.tokenID == b.tokenID && a.logprob == b.logprob && a.rank == b.rank
            && a.top.map(\.id) == b.top.map(\.id) && a.top.map(\.logprob) == b.top.map(\.logprob)
    }

    /// Computes log-softmax over the raw `logits` (before any processing, as vLLM reports by default).
    public init(logits: UnsafeBufferPointer<Float>, chosen: Int32, topCount: Int) {
        let maxLogit = logits.isEmpty ? 0 : logits[Kernels.argmax(logits)]
        // exp of every logit by the vectorized kernel (< 2 ulp), summed in double: prompt logprobs take one row
        // per prompt token, so this runs once per token of the prompt.
        let sum = withUnsafeTemporaryAllocation(of: Float.self, capacity: logits.count) { scratch in
            Kernels.expScaled(logits.baseAddress!, into: scratch.baseAddress!, count: logits.count, shift: maxLogit, scale: 1)
        }
        let logSum = Float(log(sum)) + maxLogit
        tokenID = chosen
        logprob = logits[Int(chosen)] - logSum
        let chosenLogit = logits[Int(chosen)]
        var above = 0
        for v in logits { above &+= v > chosenLogit ? 1 : 0 }
        rank = 1 + above
        // Top-k by a bounded insertion into a small sorted array; a large k (prompt_logprobs -1: the whole
        // vocabulary) by one sort.
        var best: [(id: Int32, logit: Float)] = []
        if topCount > 64 {
            best = (0..<logits.count).map { (Int32($0), logits[$0]) }
            best.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.id < $1.id) }
            best.removeLast(max(0, best.count - topCount))
        } else if topCount > 0 {
            for i in 0..<logits.count {
                let v = logits[i]
                if best.count == topCount, let last = best.last, v <= last.logit { continue }
                let at = best.firstIndex { v > $0.logit } ?? best.count
                best.insert((Int32(i), v), at: at)
                if best.count > topCount { best.removeLast() }
            }
        }
        top = best.map { ($0.id, $0.logit - logSum) }
    }
}
