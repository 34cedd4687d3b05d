import VLLMKernels
import VLLMModels

/// Runs the model for the scheduler's batches (vLLM's model runner): owns the model, its paged KV cache, each
/// request's random generator, the logits processors and the sampling scratch, and turns a `ScheduledBatch` into one
/// sampled token (and its logprobs) for every entry that samples. Owned by the engine loop; nothing here is shared.
public final class ModelRunner {
    public let model: any LanguageModel
    let cache: PagedKVCache
    /// The processors every sampled row goes through; a structured-output mask is one more link.
    public var logitsProcessors = LogitsProcessorChain.builtIn()
    private let endOfGeneration: Set<Int32>
    private var generators: [Int: RandomGenerator] = [:]
    /// Probabilities of the row being sampled, reused across rows and steps.
    private let samplingScratch = AlignedBuffer<Float>()
    /// Set for a pooling model: every request is a pooling request, and a step returns vectors, not tokens.
    public let pooler: PoolerConfiguration?

    /// What one step produced.
    public struct Output {
        /// The token of each batch entry, nil for entries that do not sample (a prefill chunk short of the prompt's end).
        public var sampled: [Int32?]
        /// Logprobs of the sampled token, for requests that asked for them.
        public var logprobs: [Int: TokenLogprobs]
        /// The pooled vector of each pooling request whose prompt this step completed.
        public var pooled: [Int: [Float]] = [:]
    }

    init(model: any LanguageModel, cache: PagedKVCache, endOfGeneration: Set<Int32>, pooler: PoolerConfiguration? = nil) {
        self.model = model
        self.cache = cache
        self.endOfGeneration = endOfGeneration
        self.pooler = pooler
    }

    /// Starts a request's sampling state: its generator, seeded.
    func addRequest(id: Int, seed: UInt64) {
        generators[id] = RandomGenerator(seed: seed)
    }

    /// Drops a finished or aborted request's sampling state, in the runner and in every logits processor.
    func removeRequest(id: Int) {
        guard generators.removeValue(forKey: id) != nil else { return }
        logitsProcessors.finished(requestID: id)
    }

    /// Runs the model on the batch's new tokens (through each request's block table) and samples every entry that
    /// reaches its last known token.
    func execute(_ batch: ScheduledBatch, blockTables: [Int: [[Int32]]]) -> Output {
        if let pooler { return executePooling(batch, blockTables: blockTables, pooler: pooler) }
        var forward = ForwardBatch()
        // Entries whose prompt positions give prompt logprobs: the batch index of each range's first position.
        var promptRows: [(entry: Int, positions: Range<Int>, firstIndex: Int)] = []
        for (e, entry) in batch.entries.enumerated() {
            let r = entry.request
            let positions = r.promptLogitPositions(start: entry.startPosition, count: entry.tokenCount)
            if !positions.isEmpty {
                let first = forward.tokens.count + positions.lowerBound - entry.startPosition
                promptRows.append((e, positions, first))
                forward.extraLogitIndices += first..<(first + positions.count)
            }
            forward.append(tokens: Array(r.tokenIDs[entry.startPosition..<(entry.startPosition + entry.tokenCount)]),
                           startPosition: entry.startPosition, blockTables: blockTables[r.id] ?? cache.layout.groups.map { _ in [] },
                           wantsLogits: entry.samples)
        }
        model.profiler?.lap("schedule")
        let logits = model.forward(forward, cache: cache)
        let indices = forward.logitIndices
        let vocabulary = logits.count / max(1, indices.count)
        // `logits` holds the rows of `indices` (sorted) in order: a token index's row by binary search.
        func rowLogits(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
            var low = 0, high = indices.count
            while low < high { let mid = (low + high) / 2; if indices[mid] < index { low = mid + 1 } else { high = mid } }
            let row = low
            return UnsafeMutableBufferPointer(mutating: UnsafeBufferPointer(rebasing: logits[(row * vocabulary)..<((row + 1) * vocabulary)]))
        }
        if !promptRows.isEmpty {
            // Up to 256 rows of a whole vocabulary each: a log-softmax and a top-k per row, across the pool.
            let rows = promptRows.flatMap { (e, positions, first) in positions.map { (e, $0, first + $0 - positions.lowerBound) } }
            var entries = [TokenLogprobs?](repeating: nil, count: rows.count)
            entries.withUnsafeMutableBufferPointer { out in
                model.threadPool.forEachItem(rows.count, perTask: 4, serialBelow: 4) { i in
                    let (e, p, index) = rows[i]
                    let r = batch.entries[e].request, k = r.parameters.promptLogprobs ?? 0
                    out[i] = TokenLogprobs(logits: UnsafeBufferPointer(rowLogits(index)), chosen: r.promptTokenIDs[p + 1],
                                           topCount: k < 0 ? vocabulary : k)
                }
            }
            var next = 0
            for (e, positions, _) in promptRows {
                batch.entries[e].request.promptLogprobs += entries[next..<(next + positions.count)].map { $0! }
                next += positions.count
            }
            model.profiler?.lap("prompt logprobs")
        }
        var output = Output(sampled: [], logprobs: [:])
        for (e, entry) in batch.entries.enumerated() {
            guard entry.samples else { output.sampled.append(nil); continue }
            let r = entry.request
            let rowLogits = rowLogits(forward.sequences[e].tokenStart + entry.tokenCount - 1)
            // vLLM reports logprobs of the raw distribution, before any processor.
            let raw: [Float] = r.parameters.logprobs != nil ? Array(rowLogits) : []
            logitsProcessors.apply(rowLogits, LogitsContext(
                requestID: r.id, parameters: r.parameters, promptTokens: r.promptTokenIDs[...], outputTokens: r.outputTokenIDs,
                endOfGeneration: endOfGeneration))
            let token = Sampler.sample(UnsafeBufferPointer(rowLogits), parameters: r.parameters, generator: &generators[r.id, default: RandomGenerator(seed: 0)],
                                       scratch: samplingScratch)
            if let k = r.parameters.logprobs {
                output.logprobs[r.id] = raw.withUnsafeBufferPointer { TokenLogprobs(logits: $0, chosen: token, topCount: k) }
            }
            output.sampled.append(token)
        }
        model.profiler?.lap("sampling")
        return output
    }
}
