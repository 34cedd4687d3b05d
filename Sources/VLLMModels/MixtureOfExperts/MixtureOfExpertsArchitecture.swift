import VLLMKernels
import VLLMModelFormats

extension LlamaModel {
    /// Qwen2-MoE (with its gated shared expert), Qwen3-MoE and Mixtral: Llama-family attention, mixture-of-experts
    /// feed-forward layers (`MixtureOfExperts`). Mixtral's GGUF files say `llama` and load through `architecture`.
    public static let mixtureOfExpertsArchitecture = ModelArchitecture(
        name: "moe", ggufNames: ["qwen2moe", "qwen3moe"],
        huggingFaceNames: ["Qwen2MoeForCausalLM", "Qwen3MoeForCausalLM", "MixtralForCausalLM"],
        fromGGUF: { file, pool, dtype throws(ModelFormatError) in try load(gguf: file, pool: pool, dtype: dtype) },
        fromHuggingFace: { config, directory, pool, dtype throws(ModelFormatError) in
            try load(configuration: ModelConfiguration.mixtureOfExperts(huggingFace: config, directory: directory),
                     directory: directory, pool: pool, dtype: dtype)
        })
}
