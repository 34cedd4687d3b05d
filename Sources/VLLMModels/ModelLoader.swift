import VLLMKernels
import VLLMModelFormats

/// Loads a Llama-family model from a GGUF file or a Hugging Face directory.
public enum ModelLoader {
    /// Opens the model at `location`, binding every tensor by name; errors name the file and the tensor.
    /// `dtype` picks the dot products for 16-bit float weights (`ComputeDType`).
    public static func load(_ location: ModelLocation, pool: ThreadPool, dtype: ComputeDType = .auto) throws(ModelFormatError) -> LlamaModel {
        switch location {
        case .gguf(let path):
            return try load(gguf: GGUFFile(path: path), pool: pool, dtype: dtype)
        case .huggingFaceDirectory(let path):
            let config = try HuggingFaceConfig.load(directory: path)
            let configuration = try ModelConfiguration(huggingFace: config, directory: path)
            let checkpoint = try SafetensorsCheckpoint(directory: path)
            let store = try WeightStore(safetensors: checkpoint, directory: path)
            return try LlamaModel(configuration: configuration, store: store, storage: checkpoint.files, pool: pool, dtype: dtype)
        }
    }
}

extension ModelLoader {
    /// Loads the model of an already opened GGUF file (its tokenizer reads the same file). Tensor types the kernels
    /// cannot compute with are refused first, whatever else the file holds.
    public static func load(gguf file: GGUFFile, pool: ThreadPool, dtype: ComputeDType = .auto) throws(ModelFormatError) -> LlamaModel {
        let store = try WeightStore(gguf: file)
        let configuration = try ModelConfiguration(gguf: file)
        return try LlamaModel(configuration: configuration, store: store, storage: [file], pool: pool, dtype: dtype)
    }
}
