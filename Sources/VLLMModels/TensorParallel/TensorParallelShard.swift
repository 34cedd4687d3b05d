import VLLMKernels
import VLLMModelFormats

/// Which part of a model this process computes under tensor parallelism (Megatron-style, as vLLM splits a decoder):
/// rank r holds a consecutive run of the KV heads (and the query heads that attend to them), the matching columns of
/// the attention output, and a run of the MLP's intermediate features (gate and up rows, down columns). Each rank's
/// attention output and MLP output are partial sums of the hidden state; `communicator` adds them up (one all-reduce
/// after attention, one after the MLP). Embeddings and norms are whole on every rank; the output matrix's rows are
/// split by vocabulary, and rank 0 gathers the logits and samples.
///
/// Unlike vLLM, counts need not divide evenly: the first ranks take one head fewer (rank 0 also computes the logits),
/// and intermediate features are cut at the down projection's quantization blocks.
public struct TensorParallelShard: Sendable {
    public let rank: Int
    public let size: Int
    /// Sums the ranks' partial hidden states; nil for a whole model.
    public let communicator: (any Communicator)?

    /// The whole model in one process.
    public static let whole = TensorParallelShard(rank: 0, size: 1, communicator: nil)

    public init(rank: Int, size: Int, communicator: (any Communicator)?) {
        precondition(size >= 1 && rank >= 0 && rank < size && (size == 1 || communicator != nil))
        self.rank = rank
        self.size = size
        self.communicator = communicator
    }

    /// Whether this process returns the logits (and samples): rank 0.
    public var computesLogits: Bool { rank == 0 }

    /// This rank's share of `count` items, cut at multiples of `unit`: rank r gets units [r·n/size, (r+1)·n/size).
    public func range(of count: Int, unit: Int = 1) -> Range<Int> {
        let units = count / unit
        return (rank * units / size * unit)..<((rank + 1) * units / size * unit)
    }

    /// The KV heads this rank holds, and the query heads of their groups.
    func heads(_ c: ModelConfiguration) -> (kv: Range<Int>, query: Range<Int>) {
        let kv = range(of: c.kvHeadCount), group = c.headCount / c.kvHeadCount
        return (kv, (kv.lowerBound * group)..<(kv.upperBound * group))
    }

    /// Fails unless every rank gets at least one KV head: vLLM's rule that the heads divide among the ranks, relaxed
    /// to uneven splits.
    func check(_ c: ModelConfiguration, file: String) throws(ModelFormatError) {
        guard size > 1 else { return }
        guard c.kvHeadCount >= size else {
            throw ModelFormatError("'\(file)' has \(c.kvHeadCount) KV head(s): --tensor-parallel-size \(size) needs at least one per rank")
        }
        if c.experts != nil {
            throw ModelFormatError("'\(file)' is a mixture-of-experts model: tensor parallelism splits dense models only so far (use --tensor-parallel-size 1)")
        }
    }

    /// The configuration of this rank's part: its heads and intermediate features (`width`), the rest unchanged.
    func configuration(_ c: ModelConfiguration, intermediate width: Int) -> ModelConfiguration {
        var local = c
        let heads = heads(c)
        local.headCount = heads.query.count
        local.kvHeadCount = heads.kv.count
        local.intermediateSize = width
        return local
    }
}
