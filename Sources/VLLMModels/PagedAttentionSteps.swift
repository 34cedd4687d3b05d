import VLLMKernels

/// The paged-attention steps every decoder's forward pass shares (Llama family, Gemma 3): where each new token's K/V
/// goes in each KV cache group, the last layer's compaction to the rows that need outputs, and attention over each
/// layer's window.
enum PagedAttentionSteps {
    /// Fills `positions` (`[tokens]`) and the cache `slots` (`[groups, tokens]`: in each KV cache group's blocks)
    /// of every new token of `batch`.
    static func placeTokens(_ batch: ForwardBatch, cache: PagedKVCache, positions: UnsafeMutablePointer<Int32>,
                            slots: UnsafeMutablePointer<Int>) {
        let tokens = batch.tokens.count, groups = cache.layout.groups.count
        for sequence in batch.sequences {
            precondition(sequence.blockTables.count == groups, "one block table per KV cache group")
            for (group, table) in sequence.blockTables.enumerated() {
                precondition(table.count * cache.blockSize >= sequence.startPosition + sequence.tokenCount,
                             "block table too short for the sequence's positions")
                for i in 0..<sequence.tokenCount {
                    let position = sequence.startPosition + i
                    positions[sequence.tokenStart + i] = Int32(position)
                    let block = Int(table[position / cache.blockSize])
                    precondition(block >= 0 && block < cache.blockCount, "block id out of range")
                    slots[group * tokens + sequence.tokenStart + i] = block * cache.blockSize + position % cache.blockSize
                }
            }
        }
    }

    /// Moves `rows` (sorted token indices) of each `[tokens, width]` buffer and of `positions` to the front, in
    /// order, and returns the batch of those tokens as one-token sequences at their positions.
    static func compact(_ batch: ForwardBatch, rows: [Int], rowWidths: [(UnsafeMutablePointer<Float>, Int)],
                        positions: UnsafeMutablePointer<Int32>) -> ForwardBatch {
        var out = ForwardBatch()
        var s = 0
        for (j, row) in rows.enumerated() {
            while batch.sequences[s].tokenStart + batch.sequences[s].tokenCount <= row { s += 1 }
            for (buffer, width) in rowWidths where j != row { (buffer + j * width).update(from: buffer + row * width, count: width) }
            positions[j] = positions[row]
            out.append(tokens: [batch.tokens[row]], startPosition: Int(positions[j]), blockTables: batch.sequences[s].blockTables)
        }
        return out
    }

    /// Attention of every new token over its layer's window (`window` keys, 0 for all earlier positions) through the
    /// block tables of KV cache group `group` (entries before the window may be -1: never read), q·k
    /// scaled by `scale`: tasks over (sequence, KV head, chunk of 16 queries), a lone decode token of a batch of
    /// many sequences one task over all its KV heads. Each head's result is the same either way (the kernel is
    /// batch-invariant), so the split only balances the threads.
    static func attend(_ batch: ForwardBatch, configuration c: ModelConfiguration, q: UnsafeMutablePointer<Float>,
                       out: UnsafeMutablePointer<Float>, positions: UnsafeMutablePointer<Int32>,
                       keyCache: UnsafeMutableRawPointer, valueCache: UnsafeMutableRawPointer, cache: PagedKVCache,
                       group: Int, scale: Float, window: Int, pool: ThreadPool) {
        let qDim = c.headCount * c.headDim
        let chunk = 16
        var tasks: [(sequence: Int, kvHead: Int, kvHeads: Int, first: Int, count: Int)] = []
        let fewDecodes = batch.sequences.count < 2 * pool.threadCount
        for (index, sequence) in batch.sequences.enumerated() {
            if sequence.tokenCount == 1 && !fewDecodes {
                tasks.append((index, 0, c.kvHeadCount, 0, 1))
                continue
            }
            // Later query chunks see more keys (up to the window): queued first, so the last tasks are short ones.
            for first in stride(from: 0, to: sequence.tokenCount, by: chunk).reversed() {
                for kvHead in 0..<c.kvHeadCount {
                    tasks.append((index, kvHead, 1, first, min(chunk, sequence.tokenCount - first)))
                }
            }
        }
        pool.parallelFor(tasks.count) { i in
            let task = tasks[i]
            let sequence = batch.sequences[task.sequence]
            let t0 = sequence.tokenStart + task.first
            sequence.blockTables[group].withUnsafeBufferPointer { table in
                Kernels.pagedAttention(query: q + t0 * qDim, queryStride: qDim, out: out + t0 * qDim, outStride: qDim, queries: task.count,
                                       positions: positions + t0, keys: keyCache, values: valueCache, type: cache.type.typeID,
                                       blockTable: table.baseAddress!, blockSize: cache.blockSize, heads: c.headCount,
                                       kvHeadCount: c.kvHeadCount, headDim: c.headDim, scale: scale,
                                       kvHeads: task.kvHead..<(task.kvHead + task.kvHeads), window: window)
            }
        }
    }
}
