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

        let routing = ExpertRouting(logits: logits, count: count, experts: e.expertCount, topK: k, normalize: e.normalizesTopK)
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

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
