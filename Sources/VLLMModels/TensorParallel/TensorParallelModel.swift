import VLLMKernels
#if canImport(Glibc)
import Glibc
#endif

/// Rank 0's model under tensor parallelism: the engine's `LanguageModel`, which before each forward pass broadcasts the
/// step (`StepMessage`) so that every other rank (`TensorParallelWorker`) runs it on its own shard at the same time.
/// The wrapped model holds rank 0's shard and sums partial outputs with the others inside its layers.
public final class TensorParallelModel: LanguageModel, @unchecked Sendable {
    public let shard: LanguageModel
    public let communicator: any Communicator
    private var contextLength = 0
    private let largestKVHeadCount: Int
    /// Re-pins the engine's thread to rank 0's cores when the thread that runs `forward` changes.
    private let pinThread: () -> Void

    /// What must live as long as the model (the worker processes' handles).
    private let keepAlive: AnyObject?

    /// - Parameter pinThread: called before each forward pass (cheap after the first: the caller remembers the thread).
    /// - Parameter largestKVHeadCount: the most KV heads any rank holds, which sizes the KV cache (every rank has as
    ///   many blocks as rank 0; the budget holds for the rank with the largest blocks).
    public init(shard: LanguageModel, communicator: any Communicator, largestKVHeadCount: Int? = nil, keepAlive: AnyObject? = nil,
                pinThread: @escaping () -> Void = {}) {
        self.shard = shard
        self.largestKVHeadCount = largestKVHeadCount ?? shard.configuration.kvHeadCount
        self.communicator = communicator
        self.keepAlive = keepAlive
        self.pinThread = pinThread
    }

    deinit { shutdown() }

    public var configuration: ModelConfiguration { shard.configuration }
    public var weightTypeDescription: String { shard.weightTypeDescription }
    public var packedWeightBytes: Int { shard.packedWeightBytes }
    public var threadPool: ThreadPool { shard.threadPool }
    public var profiler: Profiler? {
        get { shard.profiler }
        set { shard.profiler = newValue }
    }
    public var slidingWindows: [Int?] { shard.slidingWindows }
    public var isEncoder: Bool { shard.isEncoder }

    /// The largest rank's bytes per token: every rank's cache has rank 0's block count.
    public func kvBytesPerToken(type: KVCacheType) -> Int {
        PagedKVCache.bytesPerToken(layerCount: kvCacheLayout.regionCount, kvHeadCount: largestKVHeadCount, headDim: configuration.headDim, type: type)
    }

    public func fitContext(_ length: Int) {
        contextLength = length
        shard.fitContext(length)
    }

    public func forward(_ batch: ForwardBatch, cache: PagedKVCache) -> UnsafeBufferPointer<Float> {
        pinThread()
        let message = StepMessage(kind: .step, contextLength: contextLength, blockCount: cache.blockCount, blockSize: cache.blockSize,
                                  kvType: cache.type, batch: batch)
        do {
            _ = try communicator.broadcast(message.encoded)
        } catch {
            TensorParallelFailure.exit(error)
        }
        profiler?.lap("broadcast step")
        return shard.forward(batch, cache: cache)
    }

    /// Tells the other ranks to exit their loops (the engine is done with the model); once only.
    public func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        _ = try? communicator.broadcast(StepMessage.shutdown().encoded)
        if let mpi = communicator as? MPICommunicator { mpi.finalize() }
    }
    private var isShutDown = false
}

/// The end of a tensor-parallel group that lost a rank: without its shard no step can be computed, so the process exits
/// with the reason (vLLM's engine likewise dies with its workers), and a supervisor restarts the server.
public enum TensorParallelFailure {
    public static func exit(_ error: any Error) -> Never {
        let text = Array("error: tensor parallelism: \(error); the engine cannot continue\n".utf8)
        _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        Glibc.exit(70)
    }
}
