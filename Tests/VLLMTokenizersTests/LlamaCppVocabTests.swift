import Foundation
import Testing
import VLLMModelFormats
import VLLMTokenizers

/// llama.cpp ships tokenizer-only GGUFs of real vocabularies with inputs (`.inp`) and the token ids its own
/// tokenizer produces (`.out`, add_special = false, parse_special = false). We must produce the same ids.
struct LlamaCppVocabTests {
    static let supported = ["bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gemma-4", "gpt-2", "llama-bpe", "llama-spm", "mpt",
                            "phi-3", "qwen2", "qwen35", "refact", "starcoder"]

    static func cases(_ name: String) throws -> [(String, [Int32])] {
        let base = ReferencePaths.vocabDirectory + "/ggml-vocab-\(name).gguf"
        let inputs = try String(contentsOfFile: base + ".inp", encoding: .utf8).components(separatedBy: "\n__ggml_vocab_test__\n")
        var outputs = try String(contentsOfFile: base + ".out", encoding: .utf8).components(separatedBy: "\n")
        if outputs.last == "" { outputs.removeLast() }
        let ids = outputs.map { line in line.split(separator: " ").compactMap { Int32($0) } }
        return Array(zip(inputs, ids))
    }

    @Test(arguments: supported)
    func matchesLlamaCpp(_ name: String) throws {
        let gguf = try GGUFFile(path: ReferencePaths.vocabDirectory + "/ggml-vocab-\(name).gguf")
        let tokenizer = try Tokenizer(gguf: gguf)
        let cases = try Self.cases(name)
        #expect(cases.count > 20)
        var failures = 0
        for (text, expected) in cases {
            let ids = tokenizer.encode(text, addSpecialTokens: false, parseSpecial: false)
            if ids != expected {
                failures += 1
                Issue.record("\(name): \(text.debugDescription) → \(ids), llama.cpp \(expected)")
            }
        }
        #expect(failures == 0)
    }

    @Test(arguments: ["gpt-2", "llama-bpe", "qwen2", "llama-spm", "starcoder"])
    func decodeInvertsEncode(_ name: String) throws {
        let tokenizer = try Tokenizer(gguf: try GGUFFile(path: ReferencePaths.vocabDirectory + "/ggml-vocab-\(name).gguf"))
        for (text, _) in try Self.cases(name) {
            var decoded = tokenizer.decode(tokenizer.encode(text), skipSpecialTokens: false)
            if tokenizer.addSpacePrefix, decoded.hasPrefix(" ") { decoded.removeFirst() }
            #expect(decoded == text, "\(name): \(text.debugDescription)")
        }
    }

    @Test func unsupportedModelsSayWhichAreSupported() throws {
        let gguf = try GGUFFile(path: ReferencePaths.vocabDirectory + "/ggml-vocab-nomic-bert-moe.gguf")
        #expect { try Tokenizer(gguf: gguf) } throws: { error in
            "\(error)".contains("t5") && "\(error)".contains("supported")
        }
    }
}
