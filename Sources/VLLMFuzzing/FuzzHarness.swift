import Foundation

/// The parsers of untrusted bytes, one harness each. A harness feeds one input to its parser and to what reads the
/// parser's result; a thrown error is the expected outcome for a bad input, anything else (a trap, a sanitizer
/// report, a hang, memory beyond the fuzzer's limit) is a bug.
package enum FuzzHarness: String, CaseIterable, Sendable {
    /// A `.gguf` file: header, metadata, tensor table, then the tokenizer and model configuration read from it.
    case gguf
    /// A `.safetensors` file: length-prefixed JSON header and tensor table.
    case safetensors
    /// `model.safetensors.index.json` beside two valid shards.
    case safetensorsIndex = "safetensors-index"
    /// `config.json`, then the model configuration derived from it.
    case config
    /// `tokenizer.json`, then encoding and decoding a fixed text.
    case tokenizer
    /// A chat template: parsed, then rendered with a small fixed conversation under tight `TemplateLimits`.
    case template
    /// A completion or chat request body.
    case request

    /// The harness `main` chose (the fuzzer's callback is a C function and cannot capture it).
    nonisolated(unsafe) package static var current = FuzzHarness.gguf

    /// Feeds `bytes` to this harness's parser.
    package func run(_ bytes: UnsafeRawBufferPointer) {
        let data = Data(bytes)
        switch self {
        case .gguf: Self.gguf(data)
        case .safetensors: Self.safetensors(data)
        case .safetensorsIndex: Self.safetensorsIndex(data)
        case .config: Self.config(data)
        case .tokenizer: Self.tokenizer(data)
        case .template: Self.template(data)
        case .request: Self.request(data)
        }
    }
}
