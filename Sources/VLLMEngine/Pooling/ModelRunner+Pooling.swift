import VLLMModels

extension ModelRunner {
    /// A pooling step (vLLM's pooling model runner): the model returns the hidden states each finishing request's
    /// pooling reads (its first, last or every token), and each becomes one vector. Entries that do not complete
    /// their prompt contribute K/V only (a decoder embedder's earlier chunks).
    func executePooling(_ batch: ScheduledBatch, blockTables: [Int: [[Int32]]], pooler: PoolerConfiguration) -> Output {
        var forward = ForwardBatch(output: .hiddenStates)
        var wanted: [(request: Request, rows: Range<Int>)] = []
        var rows: [Int] = []
        for entry in batch.entries {
            let r = entry.request
            let start = forward.tokens.count
            forward.append(tokens: Array(r.tokenIDs[entry.startPosition..<(entry.startPosition + entry.tokenCount)]),
                           startPosition: entry.startPosition, blockTables: blockTables[r.id] ?? cache.layout.groups.map { _ in [] },
                           wantsLogits: false)
            guard entry.samples else { continue }
            // The engine runs pooling prompts whole (no chunking, no prefix cache), so every row is in this step.
            precondition(entry.startPosition == 0, "a pooling request must run its whole prompt in one step")
            let needed = pooler.rows(start: start, count: entry.tokenCount)
            wanted.append((r, rows.count..<(rows.count + needed.count)))
            rows += needed
        }
        forward.extraLogitIndices = rows
        model.profiler?.lap("schedule")
        let states = model.forward(forward, cache: cache)
        let hidden = model.configuration.hiddenSize
        var output = Output(sampled: Array(repeating: nil, count: batch.entries.count), logprobs: [:])
        // `forward` returns the rows sorted and deduplicated, which is the order they were appended in here.
        for (request, range) in wanted {
            let slice = UnsafeBufferPointer(rebasing: states[(range.lowerBound * hidden)..<(range.upperBound * hidden)])
            output.pooled[request.id] = pooler.pool(slice, hidden: hidden, parameters: request.pooling ?? PoolingParameters())
        }
        model.profiler?.lap("pooling")
        return output
    }
}
