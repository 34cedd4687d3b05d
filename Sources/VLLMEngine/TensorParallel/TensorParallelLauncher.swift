import Foundation
import VLLMKernels
import VLLMModelFormats
import VLLMModels

/// Starts a tensor-parallel group and loads rank 0's shard (vLLM's multiprocessing executor, CPU backend):
/// - `mp`: this process is rank 0 and starts ranks 1..N-1 as `vllm tp-worker` processes on this host; the ranks talk
///   through a shared memory segment (`SharedMemoryCommunicator`), each pinned to its share of the cores
///   (`CPUBinding`, `VLLM_CPU_OMP_THREADS_BIND`);
/// - `mpi`: `mpirun` started every rank with the same command line; rank 0 returns its model and serves, every other
///   rank runs `TensorParallelWorker` here until rank 0 shuts the group down, then exits the process.
/// Each rank loads the same file and keeps only its shard; only rank 0 samples.
public enum TensorParallelLauncher {
    /// Rank 0's model for `location`, the other ranks started (or joined) and loaded.
    static func loadRankZero(_ location: ModelLocation, options: EngineOptions) throws -> any LanguageModel {
        let size = options.tensorParallelSize
        switch options.distributedExecutorBackend {
        case .mpi:
            let communicator = try MPICommunicator()
            guard communicator.size == size else {
                throw EngineError("--tensor-parallel-size \(size) but mpirun started \(communicator.size) rank(s): give mpirun -np \(size)")
            }
            // mpirun binds each rank itself (by default to a core when there are no more ranks than cores): `auto`
            // keeps its binding and runs a thread per core it allows; an explicit list pins each local rank.
            let local = MPICommunicator.launchedLocalRank(environment: ProcessInfo.processInfo.environment)
            let given = ProcessInfo.processInfo.environment["VLLM_CPU_OMP_THREADS_BIND"]
            let binding = given == nil || given == "auto" ? CPUBinding(ranks: [])
                : try CPUBinding(given, size: local.size)
            if communicator.rank != 0 {
                try runRank(location, options: options, communicator: communicator, binding: binding, bindingRank: local.rank)
                communicator.finalize()
                exit(0)
            }
            return try load(location, options: options, communicator: communicator, binding: binding, bindingRank: local.rank, workers: nil)
        case .mp:
            let binding = try CPUBinding(ProcessInfo.processInfo.environment["VLLM_CPU_OMP_THREADS_BIND"], size: size)
            let segment = "/dev/shm/vllm-tp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let communicator = try SharedMemoryCommunicator(path: segment, rank: 0, size: size, create: true, spin: spin(binding))
            let workers = try WorkerProcesses(size: size, segment: segment, location: location, options: options, communicator: communicator)
            defer { communicator.unlink() }  // every rank has it open once the handshake is done
            return try load(location, options: options, communicator: communicator, binding: binding, bindingRank: 0, workers: workers)
        }
    }

    /// Loads rank 0's shard on its cores and waits until every rank has loaded its own (`handshake`).
    private static func load(_ location: ModelLocation, options: EngineOptions, communicator: any Communicator, binding: CPUBinding,
                             bindingRank: Int, workers: WorkerProcesses?) throws -> any LanguageModel {
        let shard = TensorParallelShard(rank: 0, size: options.tensorParallelSize, communicator: communicator)
        let pool = try pinnedPool(binding: binding, rank: bindingRank, threads: options.threads)
        let model = try ModelLoader.load(location, pool: pool, dtype: options.dtype, quantization: options.quantization, shard: shard)
        let kvHeads = try handshake(communicator, kvHeads: model.configuration.kvHeadCount)
        let cores = binding.cores(rank: bindingRank)
        var pinned: pthread_t?
        return TensorParallelModel(shard: model, communicator: communicator, largestKVHeadCount: kvHeads.max()!, keepAlive: workers) {
            // The engine's loop thread runs the pool's share of rank 0's work: pinned the first time it calls.
            guard let cores, pinned.map({ pthread_equal($0, pthread_self()) == 0 }) ?? true else { return }
            pinned = pthread_self()
            try? CPUBinding(ranks: [cores]).pinCurrentThread(rank: 0)
        }
    }

    /// A rank other than 0: loads its shard and runs steps until rank 0 shuts the group down.
    public static func runRank(_ location: ModelLocation, options: EngineOptions, communicator: any Communicator, binding: CPUBinding,
                        bindingRank: Int) throws {
        try binding.pinCurrentThread(rank: bindingRank)
        let pool = ThreadPool(threadCount: binding.threadCount(rank: bindingRank, given: options.threads))
        let shard = TensorParallelShard(rank: communicator.rank, size: communicator.size, communicator: communicator)
        let model = try ModelLoader.load(location, pool: pool, dtype: options.dtype, quantization: options.quantization, shard: shard)
        _ = try handshake(communicator, kvHeads: model.configuration.kvHeadCount)
        StartupGate.open()
        try TensorParallelWorker(model: model, communicator: communicator).run()
    }

    /// Waits until every rank has loaded its shard (a rank that failed has exited and aborted the group) and returns
    /// each rank's KV head count: every rank writes its own into a vector of zeros, and an all-reduce sums them.
    private static func handshake(_ communicator: any Communicator, kvHeads: Int) throws -> [Int] {
        var counts = [Float](repeating: 0, count: communicator.size)
        counts[communicator.rank] = Float(kvHeads)
        do {
            try counts.withUnsafeMutableBufferPointer { buffer throws(CommunicatorError) in try communicator.allReduceSum(buffer) }
        } catch {
            throw EngineError("tensor parallelism: the other ranks did not load their shards: \(error) (their errors are above)")
        }
        return counts.map { Int($0) }
    }

    /// How long the shared memory transport's waits spin: long when each rank has cores of its own, short when ranks
    /// share them (`VLLM_CPU_OMP_THREADS_BIND=all`), where a spinning rank would hold the core another rank needs.
    public static func spin(_ binding: CPUBinding) -> Int32 {
        binding.ranks.isEmpty ? 20000 : SharedMemoryCommunicator.operationSpin
    }

    /// A thread pool whose threads run on `rank`'s cores; the calling thread keeps its own affinity.
    private static func pinnedPool(binding: CPUBinding, rank: Int, threads: Int?) throws -> ThreadPool {
        let count = binding.threadCount(rank: rank, given: threads)
        guard binding.cores(rank: rank) != nil else { return ThreadPool(threadCount: count) }
        let previous = CPUBinding.allowedCPUs()
        try binding.pinCurrentThread(rank: rank)  // the pool's threads inherit the mask
        let pool = ThreadPool(threadCount: count)
        try CPUBinding(ranks: [previous]).pinCurrentThread(rank: 0)
        return pool
    }
}
