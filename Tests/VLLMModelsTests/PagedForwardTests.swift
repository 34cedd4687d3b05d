import Foundation
import Testing
@testable import VLLMModels

/// The paged forward pass of the default model: results must not depend on where blocks live, how prompts
/// are chunked, or which other sequences share the batch.
@Suite(.serialized)
struct PagedForwardTests {
    static let model: any LanguageModel = try! ModelHarness.load(ModelHarness.defaultModelPath)
    static let prompt: [Int32] = [504, 3575, 282, 4649, 314, 253, 1345, 2914, 28, 281, 253, 1177, 3200, 30, 378, 550, 1036, 1346, 284]

    func lastLogits(_ tokens: [Int32], table: [Int32], cache: PagedKVCache) -> [Float] {
        var batch = ForwardBatch()
        batch.append(tokens: tokens, startPosition: 0, blockTable: table)
        return Array(Self.model.forward(batch, cache: cache))
    }

    @Test func blockPlacementDoesNotChangeLogits() {
        let cache = ModelHarness.cache(for: Self.model, blocks: 32, blockSize: 4)
        let contiguous = lastLogits(Self.prompt, table: Array(0..<5), cache: cache)
        let scrambled = lastLogits(Self.prompt, table: [17, 3, 29, 8, 22], cache: cache)
        #expect(contiguous == scrambled)
    }

    @Test func chunkedPrefillEqualsOnePass() {
        let cache = ModelHarness.cache(for: Self.model, blocks: 32, blockSize: 4)
        let table: [Int32] = [9, 1, 30, 4, 12]
        let whole = lastLogits(Self.prompt, table: table, cache: cache)
        var position = 0
        var last: [Float] = []
        for chunk in stride(from: 0, to: Self.prompt.count, by: 3).map({ Array(Self.prompt[$0..<min($0 + 3, Self.prompt.count)]) }) {
            var batch = ForwardBatch()
            batch.append(tokens: chunk, startPosition: position, blockTable: table)
            last = Array(Self.model.forward(batch, cache: cache))
            position += chunk.count
        }
        #expect(last == whole)
    }

    /// A batch over `LlamaModel.microBatchTokens` runs as consecutive parts; a sequence cut between two parts
    /// and the logit rows on either side of the cut come out as when each sequence runs alone.
    @Test func batchesLargerThanOnePassEqualEachSequenceAlone() {
        let long = (0..<Int32(700)).map { ($0 * 37 + 11) % 4000 + 100 }
        let short = Array(Self.prompt.prefix(9))
        let alone = ModelHarness.cache(for: Self.model, blocks: 64, blockSize: 16)
        let longAlone = ModelHarness.allLogits(Self.model, long, cache: alone, blockTable: Array(0..<44))
        let shortAlone = lastLogits(short, table: [50], cache: alone)

        let cache = ModelHarness.cache(for: Self.model, blocks: 64, blockSize: 16)
        var batch = ForwardBatch()
        batch.append(tokens: short, startPosition: 0, blockTable: [63])
        batch.append(tokens: long, startPosition: 0, blockTable: (0..<Int32(44)).map { 62 - $0 })
        // Logits of the short sequence, of the long one's tokens on both sides of the first cut, and of its last.
        let cut = LlamaModel.microBatchTokens - short.count
        batch.extraLogitIndices = [short.count + cut - 1, short.count + cut]
        // The batch really runs as two parts, the long sequence continuing at the position where the first stopped.
        let parts = batch.parts(maxTokens: LlamaModel.microBatchTokens)
        #expect(parts.map(\.offset) == [0, LlamaModel.microBatchTokens])
        #expect(parts[1].batch.sequences.map(\.startPosition) == [cut] && parts[1].batch.tokens.count == long.count - cut)
        let together = Array(Self.model.forward(batch, cache: cache))
        let vocab = Self.model.configuration.vocabularySize
        let rows = (0..<4).map { Array(together[($0 * vocab)..<(($0 + 1) * vocab)]) }
        #expect(batch.tokens.count > LlamaModel.microBatchTokens)
        #expect(rows[0] == shortAlone)
        #expect(rows[1] == longAlone[cut - 1])
        #expect(rows[2] == longAlone[cut])
        #expect(rows[3] == longAlone[long.count - 1])
    }

    @Test func severalSequencesInOneBatchEqualEachAlone() {
        let vocab = Self.model.configuration.vocabularySize
        let short: [Int32] = [100, 200, 300]
        let history: [Int32] = [1, 2, 3, 4, 5, 6, 7]
        // Each sequence alone, contiguous blocks from 0, in its own cache.
        let shortAlone = lastLogits(short, table: [0], cache: ModelHarness.cache(for: Self.model, blocks: 8, blockSize: 4))
        let promptAlone = lastLogits(Self.prompt, table: Array(0..<5), cache: ModelHarness.cache(for: Self.model, blocks: 8, blockSize: 4))
        let decodeCache = ModelHarness.cache(for: Self.model, blocks: 8, blockSize: 4)
        _ = lastLogits(history, table: [0, 1], cache: decodeCache)
        var step = ForwardBatch()
        step.append(tokens: [99], startPosition: history.count, blockTable: [0, 1])
        let decodeAlone = Array(Self.model.forward(step, cache: decodeCache))

        // Together: a short prefill, a long prefill and one decode step, block tables scattered over one pool.
        let cache = ModelHarness.cache(for: Self.model, blocks: 64, blockSize: 4)
        var setup = ForwardBatch()
        setup.append(tokens: history, startPosition: 0, blockTable: [61, 7])
        _ = Self.model.forward(setup, cache: cache)
        var batch = ForwardBatch()
        batch.append(tokens: short, startPosition: 0, blockTable: [50])
        batch.append(tokens: Self.prompt, startPosition: 0, blockTable: [33, 2, 47, 19, 58])
        batch.append(tokens: [99], startPosition: history.count, blockTable: [61, 7])
        let out = Array(Self.model.forward(batch, cache: cache))
        #expect(Array(out[0..<vocab]) == shortAlone)
        #expect(Array(out[vocab..<(2 * vocab)]) == promptAlone)
        #expect(Array(out[(2 * vocab)..<(3 * vocab)]) == decodeAlone)
    }

    /// Prompt logprobs ask for logits of several rows of one sequence (`extraLogitIndices`); the last layer runs
    /// attention onward for those rows only, and each must equal the prefix ending there run alone.
    @Test func extraLogitRowsEqualEachPrefixAlone() {
        let vocab = Self.model.configuration.vocabularySize
        var batch = ForwardBatch(extraLogitIndices: [0, 5, 11])
        batch.append(tokens: [7, 8], startPosition: 0, blockTable: [40])
        batch.append(tokens: Self.prompt, startPosition: 0, blockTable: [33, 2, 47, 19, 58])
        let out = Array(Self.model.forward(batch, cache: ModelHarness.cache(for: Self.model, blocks: 64, blockSize: 4)))
        #expect(batch.logitIndices == [0, 1, 5, 11, 2 + Self.prompt.count - 1])
        let alone = [[Int32(7)], [7, 8], Array(Self.prompt[0..<4]), Array(Self.prompt[0..<10]), Self.prompt].map {
            lastLogits($0, table: Array(0..<5), cache: ModelHarness.cache(for: Self.model, blocks: 8, blockSize: 4))
        }
        for (i, expected) in alone.enumerated() { #expect(Array(out[(i * vocab)..<((i + 1) * vocab)]) == expected, "row \(i)") }
    }

    @Test func f32AndF16CachesAgreeClosely() {
        let f16 = lastLogits(Self.prompt, table: Array(0..<5), cache: ModelHarness.cache(for: Self.model, blocks: 8, blockSize: 4, type: .f16))
        let f32 = lastLogits(Self.prompt, table: Array(0..<5), cache: ModelHarness.cache(for: Self.model, blocks: 8, blockSize: 4, type: .f32))
        // f16 rounding of K/V moves logits slightly (llama.cpp stores f16 too); the ranking must hold.
        let mean = zip(f16, f32).map { abs($0 - $1) }.reduce(0, +) / Float(f16.count)
        let spread = f32.map(abs).reduce(0, +) / Float(f32.count)
        #expect(mean < 0.02 * spread, "mean |Δ| \(mean) vs mean |logit| \(spread)")
        #expect(ModelHarness.argmax(f16) == ModelHarness.argmax(f32))
    }
}
