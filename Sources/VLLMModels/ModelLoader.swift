import VLLMKernels
import VLLMModelFormats

/// Loads a Llama-family model from a GGUF file or a Hugging Face directory.
public enum ModelLoader {
    /// Opens the model at `location`, binding every tensor by name; errors name the file and the tensor.
    /// `dtype` picks the dot products for 16-bit float weights (`ComputeDType`).
    public static func load(_ location: ModelLocation, pool: ThreadPool, dtype: ComputeDType = .auto) throws(ModelFormatError) -> LlamaModel {
        switch location {
        case .gguf(let path):
            let file = try GGUFFile(path: path)
            let configuration = try ModelConfiguration(gguf: file)
            return try LlamaModel(configuration: configuration, store: WeightStore(gguf: file), storage: [file], pool: pool, dtype: dtype)
        case .huggingFaceDirectory(let path):
            let config = try HuggingFaceConfig.load(directory: path)
            let configuration = try ModelConfiguration(huggingFace: config, directory: path)
            let checkpoint = try SafetensorsCheckpoint(directory: path)
            return try LlamaModel(configuration: configuration, store: WeightStore(safetensors: checkpoint, directory: path),
                                  storage: checkpoint.files, pool: pool, dtype: dtype)
        }
    }
}

extension ModelLoader {
    /// Loads the model of an already opened GGUF file (its tokenizer reads the same file).
    public static func load(gguf file: GGUFFile, pool: ThreadPool, dtype: ComputeDType = .auto) throws(ModelFormatError) -> LlamaModel {
        let configuration = try ModelConfiguration(gguf: file)
        return try LlamaModel(configuration: configuration, store: WeightStore(gguf: file), storage: [file], pool: pool, dtype: dtype)
    }
}
