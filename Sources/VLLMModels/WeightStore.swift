import VLLMKernels
import VLLMModelFormats

/// Named tensors of a checkpoint, looked up by GGUF-style names (`blk.0.attn_q.weight`) whatever the file
/// format, with shape checks. Records which tensors were bound so that leftovers can be reported.
final class WeightStore {
    private enum Source {
        case gguf(GGUFFile)
        case safetensors(SafetensorsCheckpoint)
    }
    private let source: Source
    let description: String
    private(set) var used: Set<String> = []
    /// GGUF-style name -> the checkpoint's Hugging Face name: the Llama family's with the architecture's layer-name
    /// overrides (`ffn_norm`: `pre_feedforward_layernorm` for Gemma 3), or an architecture's own map (BERT).
    private let huggingFaceName: @Sendable (String) -> String
    /// Name suffixes of stored tensors no architecture computes with (never bound, never type-checked).
    private let ignorable: [String]
    /// The checkpoint's integer quantization (AWQ, GPTQ, compressed-tensors), for its linear layers.
    private let quantization: QuantizationConfig?
    /// Layers rewritten from their integer format; the model keeps them alive.
    private(set) var converted: [ConvertedWeights] = []
    /// `--dtype float32`: quantized layers become F16 rows, computed with f32 activations.
    private let floatActivations: Bool

    /// Fails at once when a tensor has a type the kernels cannot compute with (before any tensor is bound).
    init(gguf: GGUFFile) throws(ModelFormatError) {
        source = .gguf(gguf)
        description = gguf.file.path
        huggingFaceName = { Self.huggingFaceName($0) }
        ignorable = Self.alwaysIgnorable
        quantization = nil
        floatActivations = false
        try TensorType.checkComputable(gguf.tensors.map { ($0.name, $0.type) }, in: description)
    }

    /// With `quantization`, the integer tensors of quantized layers (`qweight`, `weight_packed`, ...) are read by
    /// `IntegerWeights`, not refused as types the kernels cannot compute with.
    /// - Parameters:
    ///   - overrides: the architecture's Hugging Face layer names that differ from the Llama family's.
    ///   - names: an architecture's own map from GGUF-style names to the checkpoint's (BERT), instead.
    ///   - ignoring: suffixes of tensors the checkpoint may hold that the model does not use (BERT's position ids).
    init(safetensors: SafetensorsCheckpoint, directory: String, quantization: QuantizationConfig? = nil,
         dtype: ComputeDType = .auto, overrides: [String: String] = [:], names: (@Sendable (String) -> String)? = nil,
         ignoring: [String] = []) throws(ModelFormatError) {
        source = .safetensors(safetensors)
        description = directory
        huggingFaceName = names ?? { Self.huggingFaceName($0, overrides: overrides) }
        ignorable = Self.alwaysIgnorable + ignoring
        self.quantization = quantization
        floatActivations = dtype == .float32
        let ignorable = self.ignorable
        let packedParts = [".qweight", ".qzeros", ".scales", ".g_idx", ".weight_packed", ".weight_scale", ".weight_zero_point", ".weight_shape"]
        try TensorType.checkComputable(safetensors.tensorNames.sorted().compactMap { name in
            if ignorable.contains(where: { name.hasSuffix($0) }) { return nil }
            if quantization != nil, packedParts.contains(where: { name.hasSuffix($0) }) { return nil }
            return safetensors.tensor(named: name).map { (name, $0.info.type) }
        }, in: description)
    }

    private static let alwaysIgnorable = ["rotary_emb.inv_freq", "rope_freqs.weight"]

    /// A stored tensor: type, shape as (rows, columns) with columns contiguous, and its bytes.
    private func lookup(_ name: String) -> (type: TensorType, rows: Int, columns: Int, data: UnsafeRawBufferPointer, fileName: String)? {
        switch source {
        case .gguf(let file):
            guard let info = file.tensor(named: name) else { return nil }
            used.insert(info.name)
            return (info.type, info.shape.dropFirst().reduce(1, *), info.shape[0], file.data(of: info), info.name)
        case .safetensors(let checkpoint):
            let hfName = huggingFaceName(name)
            guard let (info, data) = checkpoint.tensor(named: hfName) else { return nil }
            used.insert(hfName)
            return (info.type, info.shape.dropLast().reduce(1, *), info.shape.last ?? 1, data, hfName)
        }
    }

    func has(_ name: String) -> Bool {
        switch source {
        case .gguf(let file): file.tensor(named: name) != nil
        case .safetensors(let checkpoint): checkpoint.tensor(named: huggingFaceName(name)) != nil
        }
    }

    /// A matrix of `rows` × `columns`; missing or mis-shaped tensors are clear errors.
    func matrix(_ name: String, rows: Int, columns: Int) throws(ModelFormatError) -> WeightMatrix {
        if let quantization, case .safetensors(let checkpoint) = source, !has(name), name.hasSuffix(".weight") {
            let prefix = String(huggingFaceName(name).dropLast(".weight".count))
            var bound: [String] = []
            let weights = try IntegerWeights(prefix: prefix, rows: rows, columns: columns, config: quantization,
                                             lookup: { checkpoint.tensor(named: $0) }, used: &bound, file: description)
            used.formUnion(bound)
            let layer = ConvertedWeights(weights, floatActivations: floatActivations)
            converted.append(layer)
            return layer.matrix
        }
        guard let t = lookup(name) else { throw ModelFormatError("'\(description)' is missing the tensor '\(displayName(name))'") }
        guard t.rows == rows, t.columns == columns else {
            throw ModelFormatError("tensor '\(t.fileName)' in '\(description)' has shape [\(t.rows), \(t.columns)] (rows, columns) but the config implies [\(rows), \(columns)]")
        }
        return WeightMatrix(typeID: t.type.rawValue, rows: rows, columns: columns, base: t.data.baseAddress!)
    }

    /// A vector (norm weight or bias) converted to f32.
    func vector(_ name: String, count: Int) throws(ModelFormatError) -> [Float] {
        guard let t = lookup(name) else { throw ModelFormatError("'\(description)' is missing the tensor '\(displayName(name))'") }
        guard t.rows * t.columns == count, t.type.blockSize == 1 else {
            throw ModelFormatError("tensor '\(t.fileName)' in '\(description)' has \(t.rows * t.columns) \(t.type.name) values but \(count) float values are expected")
        }
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            Kernels.dequantizeRow(type: t.type.rawValue, t.data.baseAddress!, into: buffer.baseAddress!, count: count)
            initialized = count
        }
    }

    func optionalVector(_ name: String, count: Int) throws(ModelFormatError) -> [Float]? {
        has(name) ? try vector(name, count: count) : nil
    }

    /// Fails when the file holds tensors the model did not bind (a different architecture or a broken file).
    func checkAllUsed() throws(ModelFormatError) {
        let all: [String]
        switch source {
        case .gguf(let file): all = file.tensors.map(\.name)
        case .safetensors(let checkpoint): all = checkpoint.tensorNames
        }
        let extra = all.filter { name in !used.contains(name) && !ignorable.contains { name.hasSuffix($0) } }.sorted()
        guard extra.isEmpty else {
            throw ModelFormatError("'\(description)' has \(extra.count) tensor(s) this architecture does not use: \(extra.prefix(5).joined(separator: ", "))\(extra.count > 5 ? ", ..." : "")")
        }
    }

    private func displayName(_ name: String) -> String {
        if case .safetensors = source { return huggingFaceName(name) }
        return name
    }

    /// GGUF tensor names → Hugging Face Llama-family names, layer names in `overrides` first.
    static func huggingFaceName(_ name: String, overrides: [String: String] = [:]) -> String {
        let fixed = ["token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
                     "output.weight": "lm_head.weight"]
        if let hit = fixed[name] { return hit }
        guard name.hasPrefix("blk.") else { return name }
        let parts = name.split(separator: ".", maxSplits: 2)
        guard parts.count == 3 else { return name }
        let suffixes = ["attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
                        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
                        "attn_output": "self_attn.o_proj", "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
                        "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"]
        let rest = parts[2].split(separator: ".", maxSplits: 1)
        guard rest.count == 2, let mapped = overrides[String(rest[0])] ?? suffixes[String(rest[0])] else { return name }
        return "model.layers.\(parts[1]).\(mapped).\(rest[1])"
    }
}
