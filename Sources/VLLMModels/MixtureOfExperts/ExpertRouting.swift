import Foundation

/// Which experts run on which tokens, and with what weight: the router's softmax over all experts, the top k of each
/// token (ties to the lower expert index), renormalized over those k when asked. The assignments are grouped by
/// expert, tokens in batch order within each, so one expert's matmuls read its weights once for all its tokens.
///
/// Nothing here depends on the other tokens of the batch: a token's experts, weights and (in `slots`) the order its
/// expert outputs are summed in are its own.
struct ExpertRouting {
    /// The token of each assignment, `[tokens * k]`, expert by expert.
    private(set) var tokens: [Int]
    /// Expert e's assignments are `offsets[e] ..< offsets[e + 1]`, `[experts + 1]`.
    private(set) var offsets: [Int]
    /// For token t and its j-th choice (by falling probability), the assignment index, `[tokens, k]`.
    private(set) var slots: [Int]
    /// The weight of the same choice, `[tokens, k]`.
    private(set) var weights: [Float]

    /// logits: `[count, experts]` router outputs.
    init(logits: UnsafePointer<Float>, count: Int, experts: Int, topK k: Int, normalize: Bool) {
        var choices = [Int](repeating: 0, count: count * k)
        weights = [Float](repeating: 0, count: count * k)
        var probabilities = [Float](repeating: 0, count: experts)
        var order = Array(0..<experts)
        for t in 0..<count {
            let row = logits + t * experts
            var top = -Float.infinity
            for e in 0..<experts { top = max(top, row[e]) }
            var sum: Float = 0
            for e in 0..<experts {
                probabilities[e] = exp(row[e] - top)
                sum += probabilities[e]
            }
            for e in 0..<experts { probabilities[e] /= sum }
            for e in 0..<experts { order[e] = e }
            order.sort { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
            var chosen: Float = 0
            for j in 0..<k {
                choices[t * k + j] = order[j]
                weights[t * k + j] = probabilities[order[j]]
                chosen += probabilities[order[j]]
            }
            if normalize { for j in 0..<k { weights[t * k + j] /= chosen } }
        }
        // Counting sort of the assignments by expert, stable in token order.
        var counts = [Int](repeating: 0, count: experts + 1)
        for e in choices { counts[e + 1] += 1 }
        for e in 0..<experts { counts[e + 1] += counts[e] }
        offsets = counts
        var next = counts
        tokens = [Int](repeating: 0, count: count * k)
        slots = [Int](repeating: 0, count: count * k)
        for t in 0..<count {
            for j in 0..<k {
                let e = choices[t * k + j]
                tokens[next[e]] = t
                slots[t * k + j] = next[e]
                next[e] += 1
            }
        }
    }
}
