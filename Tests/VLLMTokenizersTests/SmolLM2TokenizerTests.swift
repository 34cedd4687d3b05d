import Foundation
import Testing
import VLLMModelFormats
import VLLMTokenizers

/// The default model's tokenizer against ids observed with llama.cpp's `llama-tokenize` (shared/notes/GGUF-FACTS.md §5.3).
struct SmolLM2TokenizerTests {
    static let tokenizer: Tokenizer = try! Tokenizer(gguf: try! GGUFFile(path: ReferencePaths.defaultModel))

    @Test func digitsAreSplitAndWhitespaceRunsKeepTheirLastSpace() {
        #expect(Self.tokenizer.encode("12345 apples") == [33, 34, 35, 36, 37, 13855])
        #expect(Self.tokenizer.encode("Hello  world") == [19556, 216, 905])
    }

    @Test func specialTokensAreParsedOnlyWhenAsked() {
        let text = "<|im_start|>user\nHi<|im_end|>"
        let parsed = Self.tokenizer.encode(text, parseSpecial: true)
        #expect(parsed.first == 1 && parsed.last == 2)
        let literal = Self.tokenizer.encode(text, parseSpecial: false)
        #expect(!literal.contains(1) && !literal.contains(2))
        #expect(Self.tokenizer.decode(parsed, skipSpecialTokens: false) == text)
        #expect(Self.tokenizer.decode(parsed, skipSpecialTokens: true) == "user\nHi")
    }

    @Test func metadataFacts() {
        #expect(Self.tokenizer.endOfGenerationIDs == [0, 2, 4])
        #expect(Self.tokenizer.bosTokenID == 1 && Self.tokenizer.eosTokenID == 2)
        #expect(!Self.tokenizer.addBOS)
        #expect(Self.tokenizer.encode("Hi", addSpecialTokens: true) == Self.tokenizer.encode("Hi"))
        #expect(Self.tokenizer.vocabularySize == 49152)
        #expect(Self.tokenizer.chatTemplate?.contains("<|im_start|>") == true)
    }

    @Test func incrementalDetokenizerNeverSplitsCharacters() {
        let text = "Crème brûlée 🦙 日本語 — ok"
        let ids = Self.tokenizer.encode(text)
        var detokenizer = IncrementalDetokenizer(tokenizer: Self.tokenizer)
        var pieces: [String] = []
        for id in ids { pieces.append(detokenizer.append(id)) }
        pieces.append(detokenizer.finish())
        #expect(pieces.joined() == text)
        #expect(pieces.allSatisfy { !$0.contains("\u{FFFD}") })
        #expect(ids.count > pieces.filter { !$0.isEmpty }.count, "some byte tokens must have been held back")
    }

    @Test func longTextRoundTrips() {
        // 110 KB through the word cache; speed is measured in BENCHMARKS.md, not asserted here.
        let text = String(repeating: "The quick brown fox jumps over the lazy dog, 1234 times! ", count: 2000)
        let ids = Self.tokenizer.encode(text)
        #expect(Self.tokenizer.decode(ids) == text)
    }
}
