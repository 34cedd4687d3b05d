import VLLMKernels
import VLLMModelFormats

/// One architecture the engine runs: the names model files give it and how to build it from each format.
public struct ModelArchitecture: Sendable {
    /// The name in logs and errors (`llama`, `gemma3`).
    public let name: String
    /// `general.architecture` values of GGUF files it loads.
    public let ggufNames: [String]
    /// `architectures[0]` values of Hugging Face `config.json` files it loads (`model_type` when a file has none).
    public let huggingFaceNames: [String]
    /// Whether its models split over tensor-parallel ranks (`TensorParallelShard`); the others refuse a shard.
    public let tensorParallel: Bool
    let fromGGUF: @Sendable (GGUFFile, ThreadPool, ComputeDType, TensorParallelShard) throws(ModelFormatError) -> any LanguageModel
    let fromHuggingFace: @Sendable (HuggingFaceConfig, String, ThreadPool, ComputeDType, TensorParallelShard) throws(ModelFormatError) -> any LanguageModel

    public init(name: String, ggufNames: [String], huggingFaceNames: [String], tensorParallel: Bool = false,
                fromGGUF: @escaping @Sendable (GGUFFile, ThreadPool, ComputeDType, TensorParallelShard) throws(ModelFormatError) -> any LanguageModel,
                fromHuggingFace: @escaping @Sendable (HuggingFaceConfig, String, ThreadPool, ComputeDType, TensorParallelShard) throws(ModelFormatError) -> any LanguageModel) {
        self.name = name
        self.ggufNames = ggufNames
        self.huggingFaceNames = huggingFaceNames
        self.tensorParallel = tensorParallel
        self.fromGGUF = fromGGUF
        self.fromHuggingFace = fromHuggingFace
    }
}

/// The architectures this engine runs, looked up by the name a model file gives (vLLM's `ModelRegistry`).
public enum ModelRegistry {
    /// Every registered architecture, in the order the README lists them.
    public static let architectures: [ModelArchitecture] = [
        LlamaModel.architecture, LlamaModel.phi3Architecture, LlamaModel.mixtureOfExpertsArchitecture, Gemma3Model.architecture,
        BertModel.architecture,
    ]

    /// The architecture of a GGUF file's `general.architecture`; an unknown one is refused with the list.
    public static func architecture(gguf name: String, file: String) throws(ModelFormatError) -> ModelArchitecture {
        if let a = architectures.first(where: { $0.ggufNames.contains(name) }) { return a }
        throw ModelFormatError("'\(file)' has architecture '\(name)', which is not supported; supported GGUF architectures: "
                               + architectures.flatMap(\.ggufNames).joined(separator: ", "))
    }

    /// The architecture of a Hugging Face config: `architectures[0]`, or `model_type` when the file lists none.
    public static func architecture(huggingFace config: HuggingFaceConfig, file: String) throws(ModelFormatError) -> ModelArchitecture {
        let name = config.architectures?.first ?? config.modelType
        if let a = architectures.first(where: { $0.huggingFaceNames.contains(name) || $0.ggufNames.contains(name) }) { return a }
        throw ModelFormatError("'\(file)' has architecture '\(name)', which is not supported; supported Hugging Face architectures: "
                               + architectures.flatMap(\.huggingFaceNames).joined(separator: ", "))
    }
}
