import VLLMKernels
import VLLMModelFormats

/// The weights of one mixture-of-experts feed-forward layer: a router, `expertCount` gated MLPs, and for
/// Qwen2-MoE a shared expert every token runs, scaled by a sigmoid gate. Port of vLLM's `Qwen2MoeSparseMoeBlock`,
/// `Qwen3MoeSparseMoeBlock` and `MixtralMoE` over llama.cpp's tensors (`build_moe_ffn`).
struct MixtureOfExperts {
    let configuration: MixtureOfExpertsConfiguration
    var router: WeightMatrix      // [experts, hidden]
    var experts: [GatedMLP]       // each gate and up [expertWidth, hidden], down [hidden, expertWidth]
    var shared: GatedMLP?         // gate and up [sharedWidth, hidden], down [hidden, sharedWidth] (Qwen2-MoE)
    var sharedGate: WeightMatrix? // [1, hidden] (Qwen2-MoE)

    /// Binds layer `i`'s experts. GGUF stacks each projection of all experts in one 3-D tensor
    /// (`blk.N.ffn_gate_exps.weight`, ne = [hidden, width, experts]): one view per expert, no copy. Hugging Face
    /// checkpoints give each expert its own tensors, under `mlp.experts.E.*_proj` (Qwen) or
    /// `block_sparse_moe.experts.E.w1|w3|w2` (Mixtral: gate, up, down).
    init(index i: Int, configuration c: ModelConfiguration, experts e: MixtureOfExpertsConfiguration,
         store: WeightStore) throws(ModelFormatError) {
        configuration = e
        let hidden = c.hiddenSize, width = e.expertIntermediateSize, count = e.expertCount
        let p = "blk.\(i)."
        if store.has(p + "ffn_gate_inp.weight") {
            router = try store.matrix(p + "ffn_gate_inp.weight", rows: count, columns: hidden)
            let gates = try store.matrix(p + "ffn_gate_exps.weight", rows: count * width, columns: hidden)
            let ups = try store.matrix(p + "ffn_up_exps.weight", rows: count * width, columns: hidden)
            let downs = try store.matrix(p + "ffn_down_exps.weight", rows: count * hidden, columns: width)
            experts = (0..<count).map { x in
                GatedMLP(gate: gates.rowSlice((x * width)..<((x + 1) * width)), up: ups.rowSlice((x * width)..<((x + 1) * width)),
                         down: downs.rowSlice((x * hidden)..<((x + 1) * hidden)))
            }
            if e.sharedExpertIntermediateSize > 0 {
                shared = try GatedMLP(gate: p + "ffn_gate_shexp.weight", up: p + "ffn_up_shexp.weight", down: p + "ffn_down_shexp.weight",
                                      width: e.sharedExpertIntermediateSize, hidden: hidden, store: store)
                sharedGate = try store.matrix(p + "ffn_gate_inp_shexp.weight", rows: 1, columns: hidden)
            }
            return
        }
        let mixtral = store.has("model.layers.\(i).block_sparse_moe.gate.weight")
        let block = "model.layers.\(i)." + (mixtral ? "block_sparse_moe." : "mlp.")
        router = try store.matrix(block + "gate.weight", rows: count, columns: hidden)
        var experts: [GatedMLP] = []
        for x in 0..<count {
            let names = mixtral ? ("w1", "w3", "w2") : ("gate_proj", "up_proj", "down_proj")
            let prefix = block + "experts.\(x)."
            experts.append(try GatedMLP(gate: prefix + names.0 + ".weight", up: prefix + names.1 + ".weight",
                                        down: prefix + names.2 + ".weight", width: width, hidden: hidden, store: store))
        }
        self.experts = experts
        if e.sharedExpertIntermediateSize > 0 {
            shared = try GatedMLP(gate: block + "shared_expert.gate_proj.weight", up: block + "shared_expert.up_proj.weight",
                                  down: block + "shared_expert.down_proj.weight", width: e.sharedExpertIntermediateSize,
                                  hidden: hidden, store: store)
            sharedGate = try store.matrix(block + "shared_expert_gate.weight", rows: 1, columns: hidden)
        }
    }

    private init(configuration: MixtureOfExpertsConfiguration, router: WeightMatrix, experts: [GatedMLP], shared: GatedMLP?,
                 sharedGate: WeightMatrix?) {
        self.configuration = configuration
        self.router = router
        self.experts = experts
        self.shared = shared
        self.sharedGate = sharedGate
    }

    /// Every matrix the matmuls read.
    var matrices: [WeightMatrix] {
        [router] + experts.flatMap(\.matrices) + (shared?.matrices ?? []) + (sharedGate.map { [$0] } ?? [])
    }

    /// Each matrix with its packed panels where the CPU has a kernel for its type.
    func packing(pool: ThreadPool, dtype: ComputeDType, arena: PackedArena) -> MixtureOfExperts {
        let pack = { (m: WeightMatrix) in m.packing(pool: pool, dtype: dtype, arena: arena) }
        return MixtureOfExperts(configuration: configuration, router: pack(router),
                                experts: experts.map { $0.packing(pool: pool, dtype: dtype, arena: arena) },
                                shared: shared?.packing(pool: pool, dtype: dtype, arena: arena), sharedGate: sharedGate.map(pack))
    }
}
