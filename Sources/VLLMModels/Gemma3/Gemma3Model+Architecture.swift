import VLLMKernels
import VLLMModelFormats

extension Gemma3Model {
    /// Gemma 3 text models (270M, 1B, and the text tower of the larger ones), from GGUF files and Hugging Face
    /// folders of `Gemma3ForCausalLM`.
    public static let architecture = ModelArchitecture(
        name: "gemma3", ggufNames: ["gemma3"], huggingFaceNames: ["Gemma3ForCausalLM"],
        fromGGUF: { file, pool, dtype, _ throws(ModelFormatError) in
            let store = try WeightStore(gguf: file)
            let configuration = try ModelConfiguration(gguf: file)
            let parameters = try Gemma3Parameters(gguf: file, configuration: configuration)
            return try Gemma3Model(configuration: configuration, parameters: parameters, store: store, storage: [file], pool: pool,
                                   dtype: dtype, normShift: 0)
        },
        fromHuggingFace: { config, directory, pool, dtype, _ throws(ModelFormatError) in
            let (configuration, parameters) = try Gemma3Parameters.huggingFace(config, directory: directory)
            let checkpoint = try SafetensorsCheckpoint(directory: directory)
            let store = try WeightStore(safetensors: checkpoint, directory: directory, overrides: huggingFaceTensorNames)
            return try Gemma3Model(configuration: configuration, parameters: parameters, store: store, storage: checkpoint.files,
                                   pool: pool, dtype: dtype, normShift: 1)
        })

    /// Gemma 3's layer tensors whose Hugging Face names differ from the Llama family's, by GGUF name.
    static let huggingFaceTensorNames = ["ffn_norm": "pre_feedforward_layernorm", "post_attention_norm": "post_attention_layernorm",
                                   "post_ffw_norm": "post_feedforward_layernorm"]
}
