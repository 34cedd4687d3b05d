import Foundation
import Testing
import VLLMModelFormats
import VLLMTokenizers

/// Gemma 3's SentencePiece vocabulary (262,144 tokens with scores, byte fallback, no space prefix, BOS added) from
/// its GGUF, against llama.cpp's ids for the same text (tools/gen-gemma3-token-ids.py; the file comes from
/// tools/fetch-model.sh gemma3-270m, which tools/test.sh runs).
struct Gemma3TokenizerTests {
    struct Fixture: Decodable {
        struct Case: Decodable { let text: String; let ids: [Int32] }
        let cases: [Case]
    }

    static var modelPath: String { ReferencePaths.cache + "/models/gemma-3-270m-q4_k_m.gguf" }

    @Test func promptsTokenizeAsLlamaCppDoes() throws {
        let tokenizer = try Tokenizer(gguf: try GGUFFile(path: Self.modelPath))
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/gemma3-llamacpp-ids.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        #expect(fixture.cases.count == 17)
        for c in fixture.cases {
            #expect(tokenizer.encode(c.text, addSpecialTokens: true, parseSpecial: true) == c.ids, "\(c.text.debugDescription)")
        }
        #expect(tokenizer.bosTokenID == 2 && tokenizer.addBOS)
        #expect(tokenizer.vocabularySize == 262_144)
    }
}
