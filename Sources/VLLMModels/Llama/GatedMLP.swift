import VLLMKernels
import VLLMModelFormats

/// A SwiGLU feed-forward block, `down(silu(gate x) * up x)`: the dense MLP of a Llama-family layer, and each
/// expert (routed or shared) of a mixture-of-experts layer.
struct GatedMLP {
    var gate: WeightMatrix  // [width, hidden]
    var up: WeightMatrix    // [width, hidden]
    var down: WeightMatrix  // [hidden, width]

    /// Binds `gate`, `up` and `down` by name, each checked against `width` × `hidden`.
    init(gate: String, up: String, down: String, width: Int, hidden: Int, store: WeightStore) throws(ModelFormatError) {
        self.gate = try store.matrix(gate, rows: width, columns: hidden)
        self.up = try store.matrix(up, rows: width, columns: hidden)
        self.down = try store.matrix(down, rows: hidden, columns: width)
    }

    init(gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix) {
        self.gate = gate
        self.up = up
        self.down = down
    }

    /// Phi-3's fused `gate_up` matrix, `[2 * width, hidden]`, gate rows first (transformers' `chunk(2)`, llama.cpp's
    /// SwiGLU split): two views into it, no copy.
    init(fusedGateUp: WeightMatrix, down: WeightMatrix) {
        let width = fusedGateUp.rows / 2
        self.init(gate: fusedGateUp.rowSlice(0..<width), up: fusedGateUp.rowSlice(width..<(2 * width)), down: down)
    }

    var matrices: [WeightMatrix] { [gate, up, down] }

    /// Each matrix with its packed panels where the CPU has a kernel for its type.
    func packing(pool: ThreadPool, dtype: ComputeDType, arena: PackedArena) -> GatedMLP {
        let pack = { (m: WeightMatrix) in m.packing(pool: pool, dtype: dtype, arena: arena) }
        return GatedMLP(gate: pack(gate), up: pack(up), down: pack(down))
    }

    /// Runs the block over `count` rows of `input` (`[count, hidden]`, written by `prepare(t)` first when given)
    /// into `output` (`[count, hidden]`), using `gate` and `up` (`[count, width]` each) as scratch.
    func run(input: UnsafeMutablePointer<Float>, count: Int, into output: UnsafeMutablePointer<Float>,
             gate gateOut: UnsafeMutablePointer<Float>, up upOut: UnsafeMutablePointer<Float>, runner: MatmulRunner,
             prepare: ((Int) -> Void)? = nil) {
        let hidden = gate.columns, width = gate.rows
        runner.run(input: input, inputStride: hidden, tokens: count,
                   jobs: [MatmulJob(matrix: gate, output: gateOut), MatmulJob(matrix: up, output: upOut)], prepare: prepare)
        runner.run(input: gateOut, inputStride: width, tokens: count, jobs: [MatmulJob(matrix: down, output: output)]) { t in
            Kernels.siluMul(gateOut + t * width, upOut + t * width, into: gateOut + t * width, count: width)
        }
    }
}

extension WeightMatrix {
    /// Rows `rows` of this matrix as a matrix of their own, in place (fused projections, stacked experts).
    func rowSlice(_ rows: Range<Int>) -> WeightMatrix {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= self.rows && packed == nil, "row slice out of range or of a packed matrix")
        return WeightMatrix(typeID: typeID, rows: rows.count, columns: columns, base: base + rows.lowerBound * rowBytes)
    }
}
