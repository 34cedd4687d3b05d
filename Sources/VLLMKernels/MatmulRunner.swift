import CVLLMKernels

/// One product `output[t * outputStride + r] = dot(matrix row r, input row t)` of a parallel matmul region.
public struct MatmulJob {
    public let matrix: WeightMatrix
    public let output: UnsafeMutablePointer<Float>
    public let outputStride: Int

    public init(matrix: WeightMatrix, output: UnsafeMutablePointer<Float>, outputStride: Int? = nil) {
        self.matrix = matrix
        self.output = output
        self.outputStride = outputStride ?? matrix.rows
    }
}

/// Multiplies a batch of f32 activation rows by one or more weight matrices in a single parallel region.
///
/// The input is converted once per activation format (P8, PB16, Q8_0, Q8_1, Q8_K or f32) into reusable scratch,
/// then the output rows of every job are split into chunks handed out across the pool. Chunking never
/// changes a value: each output element is computed by the same kernel sequence whatever the batch.
public final class MatmulRunner: @unchecked Sendable {
    public let pool: ThreadPool
    private var converted: [Int32: AlignedBuffer<UInt8>] = [:]

    public init(pool: ThreadPool) { self.pool = pool }

    /// input: `[tokens, columns]` f32 rows with stride `inputStride` floats; every job's matrix has `columns` columns.
    /// `prepare(t)`, when given, runs once per token before row t of `input` is read (e.g. an RMS norm writing it),
    /// in the same parallel pass that converts the row, while the row is still in that thread's cache.
    public func run(input: UnsafePointer<Float>, inputStride: Int, tokens: Int, jobs: [MatmulJob],
                    prepare: ((Int) -> Void)? = nil) {
        guard tokens > 0, let first = jobs.first else { return }
        let columns = first.matrix.columns
        // Packed panels need their kernel's ISA on the calling thread's level (tests pin lower levels).
        let activationType = { (m: WeightMatrix) -> Int32 in
            m.packed != nil && vk_packed_usable(m.typeID) == 1 ? vk_packed_activation_type(m.typeID) : m.activationTypeID
        }
        var sources: [Int32: (UnsafeRawPointer, Int)] = [:]
        var pending = prepare
        for job in jobs {
            precondition(job.matrix.columns == columns, "matmul jobs in one region must share the input width")
            let type = activationType(job.matrix)
            if sources[type] != nil { continue }
            if type == Int32(VK_F32) {
                if let step = pending { pool.forEachItem(tokens, step); pending = nil }
                sources[type] = (UnsafeRawPointer(input), inputStride * 4)
                continue
            }
            let rowBytes = Int(vk_row_bytes(type, Int64(columns)))
            let buffer = converted[type] ?? AlignedBuffer<UInt8>()
            converted[type] = buffer
            let dst = buffer.reserve(rowBytes * tokens)
            let step = pending
            pending = nil
            pool.forEachItem(tokens) { t in
                step?(t)
                vk_quantize_row(type, input + t * inputStride, dst + t * rowBytes, Int64(columns))
            }
            sources[type] = (UnsafeRawPointer(dst), rowBytes)
        }
        // The jobs' rows, end to end, split into equal chunks of whole panels (a chunk may end one job and start the
        // next). Every task streams the whole input: for prefill-sized batches two tasks a thread read it least
        // (400-token prefill: 1 or 2 a thread measured 4-7% faster than 8); small batches stream mostly weights,
        // and eight a thread balance better. Equal sizes keep the threads even (q, k, v were 8 against 7 tasks).
        let totalRows = jobs.reduce(0) { $0 + $1.matrix.rows }
        let tasksPerThread = tokens >= 64 ? 2 : 8
        let chunk = max(16, (totalRows / (pool.threadCount * tasksPerThread) + 15) / 16 * 16)
        var tasks: [[(job: Int, r0: Int, r1: Int)]] = []
        var current: [(job: Int, r0: Int, r1: Int)] = [], room = chunk
        for (index, job) in jobs.enumerated() {
            var r = 0
            while r < job.matrix.rows {
                let end = min(job.matrix.rows, r + room)
                current.append((index, r, end))
                room -= (end - r + 15) / 16 * 16  // stays whole panels: the next job's rows start at a panel too
                r = end
                if room <= 0 { tasks.append(current); current = []; room = chunk }
            }
        }
        if !current.isEmpty { tasks.append(current) }
        pool.parallelFor(tasks.count) { i in
            for task in tasks[i] {
                let job = jobs[task.job]
                let m = job.matrix
                let type = activationType(m)
                let (x, xRowBytes) = sources[type]!
                if type == Int32(VK_P8) || type == Int32(VK_PB16), let packed = m.packed {
                    vk_matmul_packed(m.typeID, packed.base, Int64(m.columns), x, Int64(xRowBytes), Int64(tokens),
                                     job.output, Int64(job.outputStride), Int64(task.r0), Int64(task.r1))
                } else {
                    vk_matmul(m.typeID, m.base, Int64(m.rowBytes), Int64(m.columns), x, Int64(xRowBytes), Int64(tokens),
                              job.output, Int64(job.outputStride), Int64(task.r0), Int64(task.r1))
                }
            }
        }
    }
}
