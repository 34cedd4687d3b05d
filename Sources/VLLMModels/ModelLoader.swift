import VLLMKernels
import VLLMModelFormats

/// Loads a model from a GGUF file or a Hugging Face directory through `ModelRegistry`.
public enum ModelLoader {
    /// Opens the model at `location`, binding every tensor by name; errors name the file and the tensor.
    /// `dtype` picks the dot products for float weights (`ComputeDType`). `quantization` (vLLM's
    /// `--quantization`) must name the method of the checkpoint's `quantization_config` when given.
    /// `shard` is this process's part under tensor parallelism; architectures that do not split refuse one.
    public static func load(_ location: ModelLocation, pool: ThreadPool, dtype: ComputeDType = .auto,
                            quantization: QuantizationConfig.Method? = nil, shard: TensorParallelShard = .whole) throws(ModelFormatError) -> any LanguageModel {
        switch location {
        case .gguf(let path):
            if let quantization {
                throw ModelFormatError("--quantization \(quantization.rawValue) is for Hugging Face checkpoints; '\(path)' is a GGUF file, whose tensors carry their own types")
            }
            return try load(gguf: GGUFFile(path: path), pool: pool, dtype: dtype, shard: shard)
        case .huggingFaceDirectory(let path):
            let config = try HuggingFaceConfig.load(directory: path)
            if let quantization, config.quantization?.method != quantization {
                let found = config.quantization.map { "its quantization_config says \($0.method.rawValue)" } ?? "it has no quantization_config"
                throw ModelFormatError("--quantization \(quantization.rawValue) does not match the checkpoint '\(path)': \(found)")
            }
            let architecture = try ModelRegistry.architecture(huggingFace: config, file: path + "/config.json")
            try check(architecture, shard: shard, file: path)
            return try architecture.fromHuggingFace(config, path, pool, dtype, shard)
        }
    }

    /// Loads the model of an already opened GGUF file (its tokenizer reads the same file). Tensor types the kernels
    /// cannot compute with are refused first, whatever else the file holds.
    public static func load(gguf file: GGUFFile, pool: ThreadPool, dtype: ComputeDType = .auto,
                            shard: TensorParallelShard = .whole) throws(ModelFormatError) -> any LanguageModel {
        try TensorType.checkComputable(file.tensors.map { ($0.name, $0.type) }, in: file.file.path)
        guard let name = file.metadata["general.architecture"]?.string else {
            throw ModelFormatError("'\(file.file.path)' has no general.architecture")
        }
        let architecture = try ModelRegistry.architecture(gguf: name, file: file.file.path)
        try check(architecture, shard: shard, file: file.file.path)
        return try architecture.fromGGUF(file, pool, dtype, shard)
    }

    private static func check(_ architecture: ModelArchitecture, shard: TensorParallelShard, file: String) throws(ModelFormatError) {
        guard shard.size > 1, !architecture.tensorParallel else { return }
        let splitting = ModelRegistry.architectures.filter(\.tensorParallel).flatMap(\.ggufNames)
        throw ModelFormatError("'\(file)' is a '\(architecture.name)' model, which tensor parallelism does not split yet (it splits \(splitting.joined(separator: ", "))); use --tensor-parallel-size 1")
    }
}
