import VLLMEngine
import VLLMModelFormats
import VLLMTokenizers

/// Loads only the tokenizer of a model argument (nil: the default model, fetched if needed).
enum TokenizerLoading {
    static func load(_ model: String?) throws -> Tokenizer {
        let argument = try model ?? DefaultModel.ensure()
        switch try ModelLocation.resolve(argument) {
        case let .gguf(path): return try Tokenizer(gguf: try GGUFFile(path: path))
        case let .huggingFaceDirectory(path): return try Tokenizer(huggingFaceDirectory: path)
        }
    }
}
