import Foundation
import Testing
import VLLMModelFormats
import VLLMTokenizers

/// Real Hugging Face tokenizer.json files against Hugging Face `tokenizers`, and the default model's GGUF tokenizer
/// against llama.cpp, on varied texts (tools/gen-tokenizer-fixtures.py), with and without special tokens.
struct ReferenceIDTests {
    struct Fixture: Decodable {
        struct Pair: Decodable { let plain: [[Int32]]; let special: [[Int32]] }
        let texts: [String]
        let ids: [String: Pair]
    }

    static let fixture = try! JSONDecoder().decode(
        Fixture.self, from: Data(contentsOf: Bundle.module.resourceURL!.appendingPathComponent("Fixtures/reference-ids.json")))

    static func tokenizer(_ name: String) throws -> Tokenizer {
        if name == "smollm2-llamacpp" { return try Tokenizer(gguf: try GGUFFile(path: ReferencePaths.defaultModel)) }
        return try Tokenizer(huggingFaceDirectory: ReferencePaths.cache + "/hf-tokenizers/" + name)
    }

    @Test(arguments: ["anthropic", "all-minilm-l6-v2", "smollm2-llamacpp"])
    func idsMatchTheReference(_ name: String) throws {
        let tokenizer = try Self.tokenizer(name)
        let expected = try #require(Self.fixture.ids[name])
        // Hugging Face always splits out added tokens; llama.cpp only with parse_special.
        let parsePlain = name != "smollm2-llamacpp"
        for (i, text) in Self.fixture.texts.enumerated() {
            #expect(tokenizer.encode(text, addSpecialTokens: false, parseSpecial: parsePlain) == expected.plain[i],
                    "\(name) plain: \(text.debugDescription)")
            #expect(tokenizer.encode(text, addSpecialTokens: true, parseSpecial: true) == expected.special[i],
                    "\(name) special: \(text.debugDescription)")
        }
    }

    @Test(arguments: ["anthropic", "smollm2-llamacpp"])
    func streamingDecodeEqualsFullDecode(_ name: String) throws {
        let tokenizer = try Self.tokenizer(name)
        for text in Self.fixture.texts {
            let ids = tokenizer.encode(text)
            var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer)
            var streamed = ""
            for id in ids {
                let piece = detokenizer.append(id)
                #expect(!piece.unicodeScalars.contains("\u{FFFD}") || text.unicodeScalars.contains("\u{FFFD}"))
                streamed += piece
            }
            streamed += detokenizer.finish()
            #expect(streamed == tokenizer.decode(ids), "\(name): \(text.debugDescription)")
        }
    }
}
