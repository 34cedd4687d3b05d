import VLLMKernels
import VLLMModelFormats

extension LlamaModel {
    /// Phi-3 (mini, small-context and LongRoPE 128k configs): a Llama-family decoder whose Q, K, V and gate, up
    /// projections are fused matrices, bound as views into them (`LlamaLayer`, `GatedMLP(fusedGateUp:down:)`).
    public static let phi3Architecture = ModelArchitecture(
        name: "phi3", ggufNames: ["phi3"], huggingFaceNames: ["Phi3ForCausalLM"],
        fromGGUF: { file, pool, dtype throws(ModelFormatError) in try load(gguf: file, pool: pool, dtype: dtype) },
        fromHuggingFace: { config, directory, pool, dtype throws(ModelFormatError) in
            try load(configuration: ModelConfiguration.phi3(huggingFace: config, directory: directory), directory: directory,
                     pool: pool, dtype: dtype)
        })
}
