import VLLMKernels
import VLLMModelFormats

extension LlamaModel {
    /// Llama 2/3, SmolLM2, Mistral, Qwen2 and Qwen3, from GGUF files or Hugging Face folders (and Mixtral's GGUF
    /// files, which llama.cpp names `llama`: their expert tensors make the layers mixtures of experts).
    public static let architecture = ModelArchitecture(
        name: "llama", ggufNames: ["llama", "qwen2", "qwen3"],
        huggingFaceNames: ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"],
        tensorParallel: true,
        fromGGUF: { file, pool, dtype, shard throws(ModelFormatError) in try load(gguf: file, pool: pool, dtype: dtype, shard: shard) },
        fromHuggingFace: { config, directory, pool, dtype, shard throws(ModelFormatError) in
            try load(configuration: ModelConfiguration(huggingFace: config, directory: directory), config: config, directory: directory,
                     pool: pool, dtype: dtype, shard: shard)
        })

    /// A GGUF file of any Llama-family variant: the configuration reads the architecture's own keys.
    static func load(gguf file: GGUFFile, pool: ThreadPool, dtype: ComputeDType, shard: TensorParallelShard = .whole) throws(ModelFormatError) -> LlamaModel {
        let store = try WeightStore(gguf: file)
        return try LlamaModel(configuration: try ModelConfiguration(gguf: file), store: store, storage: [file], pool: pool, dtype: dtype, shard: shard)
    }

    /// A Hugging Face folder whose `config.json` (`config`) gave `configuration`; quantized layers as its
    /// `quantization_config` says.
    static func load(configuration: ModelConfiguration, config: HuggingFaceConfig, directory: String, pool: ThreadPool,
                     dtype: ComputeDType, shard: TensorParallelShard = .whole) throws(ModelFormatError) -> LlamaModel {
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        let store = try WeightStore(safetensors: checkpoint, directory: directory, quantization: config.quantization, dtype: dtype)
        return try LlamaModel(configuration: configuration, store: store, storage: checkpoint.files, pool: pool, dtype: dtype, shard: shard)
    }
}
