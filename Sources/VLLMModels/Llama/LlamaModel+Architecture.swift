import VLLMKernels
import VLLMModelFormats

extension LlamaModel {
    /// Llama 2/3, SmolLM2, Mistral, Qwen2 and Qwen3, from GGUF files or Hugging Face folders.
    public static let architecture = ModelArchitecture(
        name: "llama", ggufNames: ["llama", "qwen2", "qwen3"],
        huggingFaceNames: ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"],
        fromGGUF: { file, pool, dtype throws(ModelFormatError) in
            let store = try WeightStore(gguf: file)
            return try LlamaModel(configuration: try ModelConfiguration(gguf: file), store: store, storage: [file], pool: pool, dtype: dtype)
        },
        fromHuggingFace: { config, directory, pool, dtype throws(ModelFormatError) in
            let configuration = try ModelConfiguration(huggingFace: config, directory: directory)
            let checkpoint = try SafetensorsCheckpoint(directory: directory)
            let store = try WeightStore(safetensors: checkpoint, directory: directory, quantization: config.quantization, dtype: dtype)
            return try LlamaModel(configuration: configuration, store: store, storage: checkpoint.files, pool: pool, dtype: dtype)
        })
}
