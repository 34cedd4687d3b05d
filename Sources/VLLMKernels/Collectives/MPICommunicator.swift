import CVLLMKernels

/// Ranks started by `mpirun` (Open MPI, loaded at run time), on one host or several: each rank is one process of
/// `mpirun -np N vllm serve ... --distributed-executor-backend mpi`, rank 0 serving and the others computing their
/// shards. Broadcast is MPI_Bcast, all-reduce MPI_Allreduce in place; a dead rank makes `mpirun` end the job.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// Cumulative cost of this rank's collectives.
    public private(set) var statistics = CollectiveStatistics()

    /// Loads and initialises MPI once per process; fails with the loader's message when Open MPI is not installed.
    public init() throws(CommunicatorError) {
        var error = [CChar](repeating: 0, count: 512)
        guard vk_mpi_open(&error, Int32(error.count)) == 0 else {
            let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw CommunicatorError("--distributed-executor-backend mpi needs Open MPI (apt-get install openmpi-bin) and a start through mpirun: \(reason)")
        }
        rank = Int(vk_mpi_rank())
        size = Int(vk_mpi_size())
    }

    /// This rank's place among the ranks on its host (`OMPI_COMM_WORLD_LOCAL_RANK`/`_SIZE`), which picks its cores.
    public static func launchedLocalRank(environment: [String: String]) -> (rank: Int, size: Int) {
        guard let rank = environment["OMPI_COMM_WORLD_LOCAL_RANK"].flatMap(Int.init),
              let size = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) else { return (0, 1) }
        return (rank, size)
    }

    /// MPI_Finalize: the last MPI call of the process.
    public func finalize() { vk_mpi_finalize() }

    public func broadcast(_ message: [UInt8]) throws(CommunicatorError) -> [UInt8] {
        let start = CollectiveStatistics.clock()
        defer { statistics.broadcasts += 1; statistics.broadcastSeconds += CollectiveStatistics.clock() - start }
        var count = Int64(message.count)
        try check(vk_mpi_bcast_bytes(&count, 8, 0), "MPI_Bcast")
        var buffer = rank == 0 ? message : [UInt8](repeating: 0, count: Int(count))
        try check(buffer.withUnsafeMutableBytes { vk_mpi_bcast_bytes($0.baseAddress, count, 0) }, "MPI_Bcast")
        statistics.broadcastBytes += Int(count)
        return buffer
    }

    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws(CommunicatorError) {
        let start = CollectiveStatistics.clock()
        try check(vk_mpi_allreduce_sum_f32(values.baseAddress, Int64(values.count)), "MPI_Allreduce")
        statistics.recordAllReduce(floats: values.count, seconds: CollectiveStatistics.clock() - start)
    }

    /// MPI_Gatherv in rounds of at most 2^28 floats a rank (MPI counts are ints).
    public func gather(_ part: UnsafeBufferPointer<Float>, counts: [Int], into: UnsafeMutableBufferPointer<Float>?) throws(CommunicatorError) {
        let start = CollectiveStatistics.clock()
        let chunk = 1 << 28
        let rounds = max(1, counts.map { ($0 + chunk - 1) / chunk }.max()!)
        for round in 0..<rounds {
            let first = round * chunk
            let sizes = counts.map { Int32(max(0, min(chunk, $0 - first))) }
            var offsets: [Int32] = []
            var offset = 0
            for c in counts { offsets.append(Int32(clamping: offset + first)); offset += c }
            guard offset + first < Int(Int32.max) else { throw CommunicatorError("a gather of \(offset) floats exceeds MPI's int displacements") }
            let code = vk_mpi_gatherv_f32(part.baseAddress.map { $0 + min(first, part.count) }, sizes[rank], into?.baseAddress,
                                          sizes, offsets, 0)
            try check(code, "MPI_Gatherv")
        }
        statistics.gathers += 1
        statistics.gatherSeconds += CollectiveStatistics.clock() - start
    }

    private func check(_ code: Int32, _ call: String) throws(CommunicatorError) {
        if code != 0 { throw CommunicatorError("\(call) failed with MPI error \(code) on rank \(rank)") }
    }
}
