import VLLMKernels

extension TensorParallelShard {
    /// Under tensor parallelism each rank computes the logits of its run of the vocabulary (vLLM's vocab-parallel LM
    /// head: the output matrix's rows split like the heads, so no rank reads it all), and rank 0 gathers them.
    func vocabularyRange(_ vocabulary: Int) -> Range<Int> { range(of: vocabulary) }

    /// Rank 0 gets `[rows, vocabulary]` logits from every rank's `[rows, its vocabulary run]` (`local`), written into
    /// `full` (`parts` holds the ranks' runs back to back first); the other ranks get nil.
    func gatherLogits(_ local: UnsafePointer<Float>, rows: Int, vocabulary: Int, parts: AlignedBuffer<Float>,
                      full: AlignedBuffer<Float>) throws(CommunicatorError) -> UnsafeMutablePointer<Float>? {
        guard let communicator else { return nil }
        let runs = (0..<size).map { TensorParallelShard(rank: $0, size: size, communicator: communicator).vocabularyRange(vocabulary) }
        let counts = runs.map { $0.count * rows }
        let mine = UnsafeBufferPointer(start: local, count: counts[rank])
        guard computesLogits else {
            try communicator.gather(mine, counts: counts, into: nil)
            return nil
        }
        let gathered = parts.reserve(max(1, rows * vocabulary))
        try communicator.gather(mine, counts: counts, into: UnsafeMutableBufferPointer(start: gathered, count: rows * vocabulary))
        let out = full.reserve(max(1, rows * vocabulary))
        var offset = 0
        for run in runs {
            for t in 0..<rows {
                (out + t * vocabulary + run.lowerBound).update(from: gathered + offset + t * run.count, count: run.count)
            }
            offset += run.count * rows
        }
        return out
    }
}
