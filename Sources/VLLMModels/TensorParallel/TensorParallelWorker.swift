import VLLMKernels

/// The loop of a tensor-parallel rank other than 0: it receives each step rank 0 broadcasts, keeps a KV cache for its
/// own heads with the geometry rank 0 chose, and runs its shard of the model (whose all-reduces meet rank 0's).
public struct TensorParallelWorker: Sendable {
    public let model: LanguageModel
    public let communicator: any Communicator

    public init(model: LanguageModel, communicator: any Communicator) {
        self.model = model
        self.communicator = communicator
    }

    /// Runs steps until rank 0 sends shutdown; throws when rank 0 is gone or sends something that is not a step.
    public func run() throws(CommunicatorError) {
        var cache: PagedKVCache?
        var contextLength = 0
        while true {
            guard let message = StepMessage(decoding: try communicator.broadcast([])) else {
                throw CommunicatorError("rank \(communicator.rank) received a malformed step message")
            }
            if message.kind == .shutdown { return }
            if message.contextLength != contextLength {
                contextLength = message.contextLength
                model.fitContext(contextLength)
            }
            if cache.map({ $0.blockCount != message.blockCount || $0.blockSize != message.blockSize || $0.type != message.kvType }) ?? true {
                cache = nil  // the old one's memory goes first
                cache = model.makeKVCache(blockCount: message.blockCount, blockSize: message.blockSize, type: message.kvType)
            }
            _ = model.forward(message.batch, cache: cache!)
        }
    }
}
