import VLLMModelFormats
import VLLMModels

/// Whether a loaded model runs as a pooling model, and with which pooling (vLLM's runner / convert / pooler-config
/// resolution): `--runner pooling`, an encoder architecture, or `--convert embed` make it pool; the pooling comes
/// from the sentence-transformers modules of the folder (or GGUF's `pooling_type`), else CLS for encoders and LAST
/// for decoders, normalized; `--pooler-config` overrides either field.
public struct PoolingSetup: Sendable {
    /// nil: a generation model.
    public var pooler: PoolerConfiguration?
    /// sentence-transformers' `max_seq_length`, which caps the model length.
    public var lengthCap: Int?

    /// For a Hugging Face folder.
    public init(model: any LanguageModel, directory: String, options: EngineOptions) throws {
        var declared = try PoolerConfiguration.sentenceTransformers(directory: directory)
        if declared != nil {
            declared?.matryoshkaDimensions = try PoolerConfiguration.matryoshka(directory: directory, hiddenSize: model.configuration.hiddenSize)
        }
        try self.init(model: model, declared: declared, options: options)
        if pooler != nil { lengthCap = try PoolerConfiguration.sentenceTransformersMaxLength(directory: directory) }
    }

    /// For a GGUF file.
    public init(model: any LanguageModel, gguf: GGUFFile, options: EngineOptions) throws {
        try self.init(model: model, declared: PoolerConfiguration.gguf(gguf), options: options)
    }

    /// From what the files declare (nil: nothing).
    public init(model: any LanguageModel, declared: PoolerConfiguration?, options: EngineOptions) throws {
        let pools: Bool
        switch options.runner {
        case .pooling: pools = true
        case .generate:
            if model.isEncoder {
                throw EngineError("--runner generate: '\(model.configuration.architecture)' is an encoder (embedding) model with no language-model head; use --runner pooling")
            }
            if options.convert == .embed { throw EngineError("--convert embed needs --runner pooling (or auto), not generate") }
            pools = false
        case .auto: pools = model.isEncoder || options.convert == .embed
        }
        guard pools else {
            if options.poolerConfig != nil { throw EngineError("--pooler-config applies to pooling models only (add --runner pooling or --convert embed)") }
            pooler = nil
            return
        }
        var configuration = declared ?? PoolerConfiguration(poolingType: model.isEncoder ? .cls : .last, normalize: true)
        if let json = options.poolerConfig { configuration = try configuration.overridden(byJSON: json) }
        pooler = configuration
    }
}
