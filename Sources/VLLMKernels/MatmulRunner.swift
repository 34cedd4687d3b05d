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
/// The input is converted once per activation format (P8, P8K, PB16, Q8_0, Q8_1, Q8_K or f32) into reusable scratch,
/// then the output rows of every job are split into chunks handed out across the pool. Chunking never
/// changes a value: each output element is computed by the same kernel sequence whatever the batch.
///
/// A decode step runs about 120 of these regions, each over well under a millisecond of weights, so a region's
/// own setup is kept off the heap: the tasks read plain operand records and row ranges from scratch that grows
/// once, and touch no reference counts (each `WeightMatrix` holds its packed copy by reference).
public final class MatmulRunner: @unchecked Sendable {
    public let pool: ThreadPool
    private var converted: [Int32: AlignedBuffer<UInt8>] = [:]
    private let operands = AlignedBuffer<Operand>()
    private let segments = AlignedBuffer<Segment>()
    private let taskStarts = AlignedBuffer<Int>()

    /// A job as the kernels take it.
    private struct Operand {
        var typeID: Int32  // the packed kernel's type id when `packed` is set, else the rows' type
        var activationType: Int32
        var packed: UnsafeRawPointer?  // panels, when the packed kernel runs this job
        var base: UnsafeRawPointer
        var rowBytes: Int
        var columns: Int
        var output: UnsafeMutablePointer<Float>
        var outputStride: Int
        var source: UnsafeRawPointer?  // the converted input rows
        var sourceRowBytes: Int
    }

    /// Rows [r0, r1) of job `job`.
    private struct Segment {
        var job: Int
        var r0: Int
        var r1: Int
    }

    public init(pool: ThreadPool) { self.pool = pool }

    /// input: `[tokens, columns]` f32 rows with stride `inputStride` floats; every job's matrix has `columns` columns.
    /// `prepare(t)`, when given, runs once per token before row t of `input` is read (e.g. an RMS norm writing it),
    /// in the same parallel pass that converts the row, while the row is still in that thread's cache.
    public func run(input: UnsafePointer<Float>, inputStride: Int, tokens: Int, jobs: [MatmulJob],
                    prepare: ((Int) -> Void)? = nil) {
        guard tokens > 0, let first = jobs.first else { return }
        let columns = first.matrix.columns
        let ops = operands.reserve(jobs.count)
        var pending = prepare
        for (index, job) in jobs.enumerated() {
            let m = job.matrix
            precondition(m.columns == columns, "matmul jobs in one region must share the input width")
            // Packed panels need their kernel's ISA on the calling thread's level (tests pin lower levels).
            let panels = m.packed.flatMap { vk_packed_usable($0.typeID) == 1 ? $0 : nil }
            let type = panels.map { vk_packed_activation_type($0.typeID) } ?? m.activationTypeID
            ops[index] = Operand(typeID: panels?.typeID ?? m.typeID, activationType: type, packed: panels?.base, base: m.base, rowBytes: m.rowBytes,
                                 columns: columns, output: job.output, outputStride: job.outputStride, source: nil,
                                 sourceRowBytes: 0)
            if let earlier = (0..<index).first(where: { ops[$0].activationType == type }) {
                ops[index].source = ops[earlier].source
                ops[index].sourceRowBytes = ops[earlier].sourceRowBytes
                continue
            }
            if type == Int32(VK_F32) {
                if let step = pending { pool.forEachItem(tokens, step); pending = nil }
                ops[index].source = UnsafeRawPointer(input)
                ops[index].sourceRowBytes = inputStride * 4
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
            ops[index].source = UnsafeRawPointer(dst)
            ops[index].sourceRowBytes = rowBytes
        }
        let taskCount = plan(jobs: jobs, tokens: tokens)
        let segs = segments.pointer, starts = taskStarts.pointer
        // The pool hands tasks out in turn. Claim c takes the (c / threads)-th task of run c % threads (the tasks
        // cut into `threads` contiguous runs), so while the threads take turns each walks its own run of rows, and
        // the kernel's read-ahead at the end of one task is the start of that thread's next. Order changes no value.
        let threads = pool.threadCount, base = taskCount / threads, extra = taskCount % threads
        pool.parallelFor(taskCount) { claim in
            let run = claim % threads
            let task = run * base + min(run, extra) + claim / threads
            for s in starts[task]..<starts[task + 1] {
                let seg = segs[s], op = ops[seg.job]
                if let packed = op.packed {
                    vk_matmul_packed(op.typeID, packed, Int64(op.columns), op.source, Int64(op.sourceRowBytes), Int64(tokens),
                                     op.output, Int64(op.outputStride), Int64(seg.r0), Int64(seg.r1))
                } else {
                    vk_matmul(op.typeID, op.base, Int64(op.rowBytes), Int64(op.columns), op.source, Int64(op.sourceRowBytes),
                              Int64(tokens), op.output, Int64(op.outputStride), Int64(seg.r0), Int64(seg.r1))
                }
            }
        }
    }

    /// Splits the jobs' rows, end to end, into equal chunks of whole panels (a chunk may end one job and start the
    /// next): task i runs segments taskStarts[i] ..< taskStarts[i + 1]. Returns the number of tasks.
    ///
    /// Every task streams the whole input: for prefill-sized batches two tasks a thread read it least (400-token
    /// prefill: 1 or 2 a thread measured 4-7% faster than 8); small batches stream mostly weights, and eight a
    /// thread balance better. Equal sizes keep the threads even (q, k, v were 8 against 7 tasks).
    private func plan(jobs: [MatmulJob], tokens: Int) -> Int {
        let totalRows = jobs.reduce(0) { $0 + $1.matrix.rows }
        let tasksPerThread = tokens >= 64 ? 2 : 8
        let chunk = max(16, (totalRows / (pool.threadCount * tasksPerThread) + 15) / 16 * 16)
        let maxTasks = (totalRows + 15) / 16 + jobs.count
        let segs = segments.reserve(maxTasks + jobs.count), starts = taskStarts.reserve(maxTasks + 1)
        var count = 0, tasks = 0, room = chunk
        starts[0] = 0
        for (index, job) in jobs.enumerated() {
            var r = 0
            while r < job.matrix.rows {
                let end = min(job.matrix.rows, r + room)
                segs[count] = Segment(job: index, r0: r, r1: end)
                count += 1
                room -= (end - r + 15) / 16 * 16  // stays whole panels: the next job's rows start at a panel too
                r = end
                if room <= 0 { tasks += 1; starts[tasks] = count; room = chunk }
            }
        }
        if starts[tasks] < count { tasks += 1; starts[tasks] = count }
        return tasks
    }
}
