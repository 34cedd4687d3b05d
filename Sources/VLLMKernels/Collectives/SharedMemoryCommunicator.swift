import CVLLMKernels
#if canImport(Glibc)
import Glibc
#endif

/// Ranks on one host talking through a shared memory segment (a file in /dev/shm that every rank maps), as vLLM's CPU
/// backend does: no copies through the kernel, waits that spin briefly and then sleep on a futex.
///
/// All-reduce: op k writes each rank's part into slot `k % 2`, publishes `arrived[rank] = k`, waits until every rank
/// has arrived, and sums the parts in rank order. Gather: the same, only rank 0 waits and reads. Two slots suffice: a
/// rank starts op k + 2 only after seeing every rank arrive at k + 1, so no rank still reads op k. Broadcast: rank 0
/// waits until every rank has read the previous message, writes the next one and bumps `sequence`. Any rank can set `aborted` (a process died): every wait ends.
public final class SharedMemoryCommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public let path: String
    private let base: UnsafeMutableRawPointer
    private let mappedBytes: Int
    private let slotFloats: Int
    private let messageCapacity: Int
    private var operation: UInt32 = 0
    private let spin: Int32
    private var sequence: UInt32 = 0
    private var partPointers: [UnsafePointer<Float>?]
    /// Checked every half second of waiting: false ends the wait with an error (a worker whose rank 0 is gone).
    public var peersAlive: (@Sendable () -> Bool)?
    /// Cumulative cost of this rank's collectives.
    public private(set) var statistics = CollectiveStatistics()

    // Layout: a 64-byte line per counter (sequence, aborted, then each rank's arrived and read), the message area,
    // then 2 × size slots of `slotFloats`.
    private static let line = 64
    private var sequenceWord: UnsafeMutablePointer<UInt32> { base.assumingMemoryBound(to: UInt32.self) }
    private var abortWord: UnsafeMutablePointer<UInt32> { (base + Self.line).assumingMemoryBound(to: UInt32.self) }
    private func arrivedWord(_ r: Int) -> UnsafeMutablePointer<UInt32> { (base + (2 + r) * Self.line).assumingMemoryBound(to: UInt32.self) }
    private func readWord(_ r: Int) -> UnsafeMutablePointer<UInt32> { (base + (2 + size + r) * Self.line).assumingMemoryBound(to: UInt32.self) }
    private var headerBytes: Int { (2 + 2 * size) * Self.line }
    private var messageArea: UnsafeMutableRawPointer { base + headerBytes }
    private func slot(_ parity: Int, _ r: Int) -> UnsafeMutablePointer<Float> {
        (base + headerBytes + messageCapacity).assumingMemoryBound(to: Float.self) + (parity * size + r) * slotFloats
    }

    /// Creates (rank 0, `create: true`) or opens the segment at `path`. Pages are touched only when used: the file is
    /// sparse, so a large `messageCapacity` or `slotFloats` costs address space, not memory.
    /// `spin` is how long a collective's waits spin before sleeping (`operationSpin` by default; shorter where ranks
    /// share cores, as threads of one test process do).
    public init(path: String, rank: Int, size: Int, create: Bool, messageCapacity: Int = 64 << 20,
                slotFloats: Int = 4 << 20, spin: Int32 = SharedMemoryCommunicator.operationSpin) throws(CommunicatorError) {
        self.spin = spin
        precondition(size >= 1 && rank >= 0 && rank < size)
        self.rank = rank
        self.size = size
        self.path = path
        self.messageCapacity = messageCapacity
        self.slotFloats = slotFloats
        partPointers = [UnsafePointer<Float>?](repeating: nil, count: size)
        let bytes = (2 + 2 * size) * Self.line + messageCapacity + 2 * size * slotFloats * MemoryLayout<Float>.size
        let fd = open(path, create ? (O_RDWR | O_CREAT | O_EXCL) : O_RDWR, 0o600)
        guard fd >= 0 else { throw CommunicatorError("cannot \(create ? "create" : "open") '\(path)': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if create, ftruncate(fd, off_t(bytes)) != 0 {
            throw CommunicatorError("cannot size '\(path)' to \(bytes) bytes: \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, Int(info.st_size) == bytes else {
            throw CommunicatorError("'\(path)' is not a segment for \(size) ranks (\(info.st_size) bytes, expected \(bytes))")
        }
        guard let map = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), map != MAP_FAILED else {
            throw CommunicatorError("cannot map '\(path)': \(String(cString: strerror(errno)))")
        }
        base = map
        mappedBytes = bytes
    }

    deinit { munmap(base, mappedBytes) }

    /// Removes the segment's name (the mappings stay valid): once every rank has opened it, or at shutdown.
    public func unlink() { _ = Glibc.unlink(path) }

    /// Ends every rank's waits with an error: called when a rank's process is gone.
    public func abort() { vk_atomic_store_wake_u32(abortWord, 1) }

    /// Spins (pause + load, about 20 ns each) before sleeping on the futex. A rank waits in a collective for the others
    /// to finish a layer's share: sleeping there cost a wake-up of 30-100 us on this VM (all-reduces averaged 155 us
    /// with 0.4 ms of spin, against 40 us for Open MPI, which never sleeps), so those waits spin for about 20 ms. A
    /// worker waiting for the next step spins about 4 ms (rank 0's sampling and scheduling), then sleeps: an idle
    /// server's workers use no CPU.
    public static let operationSpin: Int32 = 1_000_000
    public static let stepSpin: Int32 = 200_000

    private func wait(_ word: UnsafeMutablePointer<UInt32>, reaches target: UInt32, spin: Int32, what: String) throws(CommunicatorError) {
        while true {
            switch vk_wait_u32_reaches(word, target, spin, abortWord, 500) {
            case 0: return
            case -2 where peersAlive?() ?? true: continue
            default: throw CommunicatorError("tensor-parallel group aborted while rank \(rank) waited for \(what): a rank's process is gone")
            }
        }
    }

    /// Rank 0 writes; the others wait for it (idle workers sleep here between requests).
    public func broadcast(_ message: [UInt8]) throws(CommunicatorError) -> [UInt8] {
        let start = CollectiveStatistics.clock()
        defer { statistics.broadcasts += 1; statistics.broadcastSeconds += CollectiveStatistics.clock() - start }
        sequence &+= 1
        if rank == 0 {
            guard message.count + 8 <= messageCapacity else {
                throw CommunicatorError("a step message of \(message.count) bytes exceeds the segment's \(messageCapacity)")
            }
            for r in 1..<size { try wait(readWord(r), reaches: sequence &- 1, spin: 2000, what: "rank \(r) to read the last step") }
            messageArea.storeBytes(of: Int64(message.count), as: Int64.self)
            message.withUnsafeBytes { if let bytes = $0.baseAddress { (messageArea + 8).copyMemory(from: bytes, byteCount: $0.count) } }
            statistics.broadcastBytes += message.count
            vk_atomic_store_wake_u32(sequenceWord, sequence)
            return message
        }
        try wait(sequenceWord, reaches: sequence, spin: min(spin, Self.stepSpin), what: "the next step")
        let count = Int(messageArea.load(as: Int64.self))
        let received = [UInt8](UnsafeRawBufferPointer(start: messageArea + 8, count: count))
        vk_atomic_store_wake_u32(readWord(rank), sequence)
        statistics.broadcastBytes += count
        return received
    }

    /// Starts the next op and returns its slot parity, once every rank has arrived at the previous op (and so has
    /// read what the op before it left in this parity's slots: ranks read an op's slots before arriving at the next).
    private func beginOperation() throws(CommunicatorError) -> Int {
        for r in 0..<size where r != rank && operation != 0 {
            try wait(arrivedWord(r), reaches: operation, spin: spin, what: "rank \(r) to finish the last operation")
        }
        operation &+= 1
        return Int(operation & 1)
    }

    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws(CommunicatorError) {
        let start = CollectiveStatistics.clock()
        var done = 0
        while done < values.count {
            let n = min(slotFloats, values.count - done)
            let parity = try beginOperation()
            slot(parity, rank).update(from: values.baseAddress! + done, count: n)
            vk_atomic_store_wake_u32(arrivedWord(rank), operation)
            for r in 0..<size where r != rank { try wait(arrivedWord(r), reaches: operation, spin: spin, what: "rank \(r)'s part") }
            for r in 0..<size { partPointers[r] = UnsafePointer(slot(parity, r)) }
            partPointers.withUnsafeBufferPointer { parts in
                vk_sum_rows_ordered(values.baseAddress! + done, parts.baseAddress!, Int32(size), Int64(n))
            }
            done += n
        }
        statistics.recordAllReduce(floats: values.count, seconds: CollectiveStatistics.clock() - start)
    }

    /// Parts larger than a slot go in rounds of a slot each, every rank making the same number of rounds (the
    /// largest part's); each round is one op of the all-reduce protocol (write, arrive) in which only rank 0 waits.
    public func gather(_ part: UnsafeBufferPointer<Float>, counts: [Int], into: UnsafeMutableBufferPointer<Float>?) throws(CommunicatorError) {
        precondition(counts.count == size && counts[rank] == part.count)
        let start = CollectiveStatistics.clock()
        let rounds = max(1, counts.map { ($0 + slotFloats - 1) / slotFloats }.max()!)
        for round in 0..<rounds {
            let parity = try beginOperation(), first = round * slotFloats
            let mine = max(0, min(slotFloats, part.count - first))
            if mine > 0 { slot(parity, rank).update(from: part.baseAddress! + first, count: mine) }
            vk_atomic_store_wake_u32(arrivedWord(rank), operation)
            guard rank == 0, let into else { continue }
            var offset = 0
            for r in 0..<size {
                let n = max(0, min(slotFloats, counts[r] - first))
                if r != 0 { try wait(arrivedWord(r), reaches: operation, spin: spin, what: "rank \(r)'s part") }
                if n > 0 { (into.baseAddress! + offset + first).update(from: slot(parity, r), count: n) }
                offset += counts[r]
            }
        }
        statistics.gathers += 1
        statistics.gatherSeconds += CollectiveStatistics.clock() - start
    }

}
