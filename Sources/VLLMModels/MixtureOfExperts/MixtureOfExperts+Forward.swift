import Foundation
import VLLMKernels

/// Activation buffers of the mixture-of-experts layers, grown to the largest batch seen and then reused
/// (k = experts per token, W = expert width, S = shared expert width).
final class ExpertScratch {
    let routerLogits = AlignedBuffer<Float>()  // [tokens, experts]
    let gathered = AlignedBuffer<Float>()      // [tokens * k, hidden] normed input rows, expert by expert
    let expertGate = AlignedBuffer<Float>()    // [tokens * k, W]
    let expertUp = AlignedBuffer<Float>()      // [tokens * k, W]
    let expertOut = AlignedBuffer<Float>()     // [tokens * k, hidden]
    let sharedGate = AlignedBuffer<Float>()    // [tokens, S]
    let sharedUp = AlignedBuffer<Float>()      // [tokens, S]
    let sharedOut = AlignedBuffer<Float>()     // [tokens, hidden]
    let sharedScale = AlignedBuffer<Float>()   // [tokens, 1] the shared expert gate's logit
}

extension MixtureOfExperts {
    /// The layer's feed-forward over `count` tokens: `h` (`[count, hidden]`, written by `prepare(t)`, the
    /// pre-FFN norm) in, `out` (`[count, hidden]`) the weighted sum of each token's experts (plus the gated shared
    /// expert) out.
    ///
    /// One region computes the router logits (and the shared expert's gate and up, which read the same rows); the
    /// tokens are routed and their rows gathered expert by expert; each expert with tokens then runs its gated MLP
    /// once over all of them, so its weights stream once per step whatever the batch. Each token's outputs are
    /// summed in its own choice order, and every matmul row is computed the same way whatever the rows beside it:
    /// a token's result does not depend on the batch.
    func forward(h: UnsafeMutablePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>, runner: MatmulRunner,
                 scratch s: ExpertScratch, prepare: @escaping (Int) -> Void) {
        let e = configuration, hidden = router.columns, k = e.expertsPerToken, width = e.expertIntermediateSize
        let logits = s.routerLogits.reserve(count * e.expertCount)
        var jobs = [MatmulJob(matrix: router, output: logits)]
        var sharedRows: (gate: UnsafeMutablePointer<Float>, up: UnsafeMutablePointer<Float>, scale: UnsafeMutablePointer<Float>)?
        if let shared, let sharedGate {
            let rows = (s.sharedGate.reserve(count * shared.gate.rows), s.sharedUp.reserve(count * shared.gate.rows), s.sharedScale.reserve(count))
            jobs += [MatmulJob(matrix: shared.gate, output: rows.0), MatmulJob(matrix: shared.up, output: rows.1),
                     MatmulJob(matrix: sharedGate, output: rows.2)]
            sharedRows = rows
        }
        runner.run(input: h, inputStride: hidden, tokens: count, jobs: jobs, prepare: prepare)

        let routing = ExpertRouting(logits: logits, count: count, experts: e.expertCount, topK: k, normalize: e.normalizesTopK,
                                    pool: runner.pool)
        let assignments = count * k
        let gathered = s.gathered.reserve(assignments * hidden), expertOut = s.expertOut.reserve(assignments * hidden)
        let gate = s.expertGate.reserve(assignments * width), up = s.expertUp.reserve(assignments * width)
        routing.tokens.withUnsafeBufferPointer { tokens in
            runner.pool.forEachItem(assignments) { a in (gathered + a * hidden).update(from: h + tokens[a] * hidden, count: hidden) }
        }
        for (x, expert) in experts.enumerated() {
            let first = routing.offsets[x], n = routing.offsets[x + 1] - first
            guard n > 0 else { continue }
            expert.run(input: gathered + first * hidden, count: n, into: expertOut + first * hidden, gate: gate + first * width,
                       up: up + first * width, runner: runner)
        }

        var sharedOut: UnsafeMutablePointer<Float>?
        if let shared, let rows = sharedRows {
            let result = s.sharedOut.reserve(count * hidden), sharedWidth = shared.gate.rows
            runner.run(input: rows.gate, inputStride: sharedWidth, tokens: count, jobs: [MatmulJob(matrix: shared.down, output: result)]) { t in
                Kernels.siluMul(rows.gate + t * sharedWidth, rows.up + t * sharedWidth, into: rows.gate + t * sharedWidth, count: sharedWidth)
            }
            sharedOut = result
        }
        let scales = sharedRows?.scale
        routing.slots.withUnsafeBufferPointer { slots in
            routing.weights.withUnsafeBufferPointer { weights in
                runner.pool.forEachItem(count) { t in
                    let row = out + t * hidden
                    row.update(repeating: 0, count: hidden)
                    for j in 0..<k {
                        let source = expertOut + slots[t * k + j] * hidden, w = weights[t * k + j]
                        for i in 0..<hidden { row[i] += w * source[i] }
                    }
                    if let sharedOut, let scales {
                        // sigmoid(gate logit) * shared expert, added after the routed sum (as transformers and vLLM do).
                        let g = 1 / (1 + exp(-scales[t])), source = sharedOut + t * hidden
                        for i in 0..<hidden { row[i] += g * source[i] }
                    }
                }
            }
        }
    }
}

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

    /// logits: `[count, experts]` router outputs. Tokens are routed on `pool` when given (each on its own).
    init(logits: UnsafePointer<Float>, count: Int, experts: Int, topK k: Int, normalize: Bool, pool: ThreadPool? = nil) {
        var choices = [Int](repeating: 0, count: count * k)
        var weights = [Float](repeating: 0, count: count * k)
        choices.withUnsafeMutableBufferPointer { choices in
            weights.withUnsafeMutableBufferPointer { weights in
                let c = choices.baseAddress!, w = weights.baseAddress!
                func choose(_ t: Int) {
                    Self.route(logits + t * experts, experts: experts, topK: k, normalize: normalize, choices: c + t * k, weights: w + t * k)
                }
                if let pool { pool.forEachItem(count) { choose($0) } } else { for t in 0..<count { choose(t) } }
            }
        }
        self.weights = weights
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

    /// One token: softmax over `experts` logits (max subtracted, in f32 as transformers), then the k most probable
    /// by k passes (ties to the lower index), renormalized over them when asked.
    private static func route(_ row: UnsafePointer<Float>, experts: Int, topK k: Int, normalize: Bool,
                              choices: UnsafeMutablePointer<Int>, weights: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: experts) { p in
            var top = -Float.infinity
            for e in 0..<experts { top = max(top, row[e]) }
            var sum: Float = 0
            for e in 0..<experts {
                p[e] = exp(row[e] - top)
                sum += p[e]
            }
            var chosen: Float = 0
            for j in 0..<k {
                var best = -1
                for e in 0..<experts where best < 0 || p[e] / sum > p[best] / sum {
                    if !(0..<j).contains(where: { choices[$0] == e }) { best = e }
                }
                choices[j] = best
                weights[j] = p[best] / sum
                chosen += weights[j]
            }
            if normalize { for j in 0..<k { weights[j] /= chosen } }
        }
    }
}
