import Foundation
import Testing
import VLLMEngine
import VLLMModels

/// all-MiniLM-L6-v2 (tools/fetch-minilm.sh) through `LLM.embed` against sentence-transformers on torch CPU
/// (Tests/Fixtures/embeddings, written by tools/gen-embedding-fixtures.py): the same token ids, including the
/// truncation of a long text at the folder's max_seq_length, and cosine >= 0.9999 on every text (empty, CJK, emoji,
/// accents, very long). Skipped when the model folder is absent.
@Suite(.serialized)
struct EmbeddingFidelityTests {
    static var modelPath: String {
        (ProcessInfo.processInfo.environment["SWIFT_VLLM_CACHE"] ?? NSHomeDirectory() + "/.cache/swift-vllm") + "/models/all-MiniLM-L6-v2"
    }
    static var modelPresent: Bool { FileManager.default.fileExists(atPath: modelPath + "/model.safetensors") }

    struct Fixture: Decodable {
        struct Case: Decodable {
            var text: String
            var token_ids: [Int32]
            var embedding: [Float]
        }
        var max_seq_length: Int
        var cases: [Case]

        static func load() throws -> Fixture {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Fixtures/embeddings/all-MiniLM-L6-v2.json")
            return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    /// `auto` rounds the F32 weights to bf16 for bf16 products where the CPU has AVX-512 BF16 (as vLLM serves a
    /// float32 pooling checkpoint in 16 bits); `float32` keeps their exact f32 products.
    @Test(.enabled(if: modelPresent), arguments: [ComputeDType.auto, .float32])
    func allTextsBatchedMatchSentenceTransformers(_ dtype: ComputeDType) throws {
        let fixture = try Fixture.load()
        var options = EngineOptions()
        options.dtype = dtype
        let llm = try LLM(model: Self.modelPath, options: options)
        #expect(llm.core.isPooling)
        #expect(llm.core.maxModelLength == fixture.max_seq_length)
        let results = try llm.embed(fixture.cases.map(\.text))
        for (expected, got) in zip(fixture.cases, results) {
            #expect(got.promptTokenIDs == expected.token_ids, "tokens of \(expected.text.prefix(40).debugDescription)")
            #expect(got.embedding.count == 384)
            let c = Self.cosine(got.embedding, expected.embedding)
            #expect(c >= (dtype == .float32 ? 0.9999999 : 0.9999), "cosine \(c) for \(expected.text.prefix(40).debugDescription)")
            let norm = got.embedding.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(norm - 1) < 1e-5)
        }
    }

    /// Each text alone gives the batch's vector (no state shared between sequences of a step).
    @Test(.enabled(if: modelPresent)) func oneAtATimeEqualsBatched() throws {
        let fixture = try Fixture.load()
        let llm = try LLM(model: Self.modelPath)
        let texts = fixture.cases.map(\.text)
        let batched = try llm.embed(texts)
        for (index, text) in texts.enumerated() {
            let alone = try llm.embed(text)
            #expect(Self.cosine(alone, batched[index].embedding) > 0.999999, "text \(index)")
        }
    }

    /// Without truncation a text over the model length is refused, naming both lengths.
    @Test(.enabled(if: modelPresent)) func untruncatedLongTextIsRefused() throws {
        let llm = try LLM(model: Self.modelPath)
        let long = String(repeating: "word ", count: 400)
        #expect(throws: EngineError.self) { try llm.embed([long], truncate: false) }
        #expect(throws: EngineError.self) { try llm.generate(["hello"]) }
    }
}
