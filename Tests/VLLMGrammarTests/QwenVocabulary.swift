import Foundation
import VLLMGrammar
import VLLMJSON
import VLLMModelFormats
import VLLMTokenizers

/// The Qwen2.5 vocabulary from llama.cpp's tokenizer-only GGUF (tools/test.sh fetches it), as the grammar sees it:
/// control and unknown tokens empty, every other token its raw bytes. tools/gen-grammar-fixtures.py gives xgrammar
/// the same bytes.
enum QwenVocabulary {
    static var cache: String {
        ProcessInfo.processInfo.environment["SWIFT_VLLM_CACHE"] ?? NSHomeDirectory() + "/.cache/swift-vllm"
    }
    static var path: String { cache + "/llama_cpp_python-0.3.36/vendor/llama.cpp/models/ggml-vocab-qwen2.gguf" }

    /// The token bytes and the tokenizer's end-of-generation ids.
    static let loaded: Result<(bytes: [[UInt8]], endOfGeneration: Set<Int32>), any Error> = Result {
        let tokenizer = try Tokenizer(gguf: try GGUFFile(path: path))
        let bytes = (0..<tokenizer.vocabularySize).map { i -> [UInt8] in
            let kind = tokenizer.tokenKind(Int32(i))
            return kind == .control || kind == .unknown ? [] : tokenizer.tokenBytes(Int32(i))
        }
        return (bytes, tokenizer.endOfGenerationIDs)
    }

    /// The grammar vocabulary with the given logits width and end-of-generation ids.
    static func vocabulary(size: Int = 151_936, endOfGeneration: Set<Int32>? = nil) throws -> TokenVocabulary {
        let (bytes, eog) = try loaded.get()
        return TokenVocabulary(tokenBytes: bytes, endOfGeneration: endOfGeneration ?? eog, size: size)
    }

    /// The id of a token given by its bytes (for readable tests).
    static func id(_ text: String) throws -> Int32 {
        let target = Array(text.utf8)
        guard let i = try loaded.get().bytes.firstIndex(of: target) else { throw CocoaError(.coderValueNotFound) }
        return Int32(i)
    }
}

/// The allowed ids of a bitmask, and the fixtures' 48-bit set hash of them.
enum MaskDigest {
    static func allowed(_ mask: [UInt32]) -> [Int32] {
        var ids: [Int32] = []
        for (w, word) in mask.enumerated() where word != 0 {
            for b in 0..<32 where word & (1 << UInt32(b)) != 0 { ids.append(Int32(w * 32 + b)) }
        }
        return ids
    }

    /// The wrapping sum of splitmix64(id), top 48 bits (as tools/gen-grammar-fixtures.py computes it).
    static func hash(_ ids: [Int32]) -> UInt64 {
        var sum: UInt64 = 0
        for id in ids {
            var z = UInt64(id) &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            sum = sum &+ (z ^ (z >> 31))
        }
        return sum >> 16
    }
}
