import VLLMKernels
import VLLMModelFormats

extension Gemma3Model {
    /// Gemma 3 text models (270M, 1B, and the text tower of the larger ones), from GGUF files.
    public static let architecture = ModelArchitecture(
        name: "gemma3", ggufNames: ["gemma3"], huggingFaceNames: ["Gemma3ForCausalLM"],
        fromGGUF: { file, pool, dtype throws(ModelFormatError) in
            let store = try WeightStore(gguf: file)
            let configuration = try ModelConfiguration(gguf: file)
            let parameters = try Gemma3Parameters(gguf: file, configuration: configuration)
            return try Gemma3Model(configuration: configuration, parameters: parameters, store: store, storage: [file], pool: pool, dtype: dtype)
        },
        fromHuggingFace: { config, directory, pool, dtype throws(ModelFormatError) in
            throw ModelFormatError("'\(directory)': Gemma 3 Hugging Face folders are not supported yet (its GGUF files are)")
        })
}
