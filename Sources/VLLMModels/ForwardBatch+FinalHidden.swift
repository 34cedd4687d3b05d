import VLLMKernels

extension ForwardBatch {
    /// The decoder models' outer loop: runs `hiddenStates` over parts of at most `maxTokens` tokens (it gets a part
    /// and the part's rows of `logitIndices`, and returns the residual stream of those rows), and RMS-normalizes
    /// each returned row with `normWeight` into `final`, `[logitIndices.count, hidden]`, in `logitIndices` order.
    func finalHiddenStates(maxTokens: Int, hidden: Int, normWeight: [Float], eps: Float, into final: UnsafeMutablePointer<Float>,
                           _ hiddenStates: (ForwardBatch, [Int]) -> UnsafeMutablePointer<Float>) {
        let rows = logitIndices
        var next = 0
        for (offset, part) in parts(maxTokens: maxTokens) {
            var partRows: [Int] = []
            while next + partRows.count < rows.count, rows[next + partRows.count] < offset + part.tokens.count {
                partRows.append(rows[next + partRows.count] - offset)
            }
            let x = hiddenStates(part, partRows)
            normWeight.withUnsafeBufferPointer { weight in
                for j in partRows.indices {
                    Kernels.rmsNorm(x + j * hidden, weight: weight.baseAddress!, into: final + (next + j) * hidden, count: hidden, eps: eps)
                }
            }
            next += partRows.count
        }
    }
}
