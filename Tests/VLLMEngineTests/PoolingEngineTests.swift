import Testing
import VLLMEngine
import VLLMModels

/// Pooling requests through the engine loop on the weightless `FakeLanguageModel` (whose one-value "hidden state" of
/// a token is the sum of its context's ids plus its position): prefill only, batched with each other in one step,
/// their KV blocks free as soon as their vector is out, the pooling type's rows read.
struct PoolingEngineTests {
    static func engine(_ pooling: PoolerConfiguration, blocks: Int = 64, batchedTokens: Int = 64) throws -> EngineCore {
        var options = EngineOptions()
        options.kvCacheType = .f32
        options.blockSize = 4
        options.maxNumBatchedTokens = batchedTokens
        options.maxModelLength = 32
        options.kvCacheSpaceGiB = Double(blocks * 4 * 8) / 1_073_741_824
        return try EngineCore(model: FakeLanguageModel(), tokenizer: try FakeLanguageModel.tokenizer(), options: options, pooler: pooling)
    }

    /// The fake's hidden state of position `p` of `prompt`.
    static func state(_ prompt: [Int32], _ p: Int) -> Float { Float(prompt[0...p].reduce(0) { $0 + Int($1) } + p) }

    static let prompts: [[Int32]] = [[1, 2, 3], [5], [7, 7, 7, 7, 7, 7, 7, 7, 7], [0, 4, 8, 12, 16]]

    @Test(arguments: PoolerConfiguration.PoolingType.allCases)
    func poolsEveryRequestInOneStepAndFreesItsBlocks(_ kind: PoolerConfiguration.PoolingType) throws {
        let core = try Self.engine(PoolerConfiguration(poolingType: kind, normalize: false))
        for (id, prompt) in Self.prompts.enumerated() { try core.addPooling(id: id, promptTokenIDs: prompt) }
        let outputs = core.step()
        #expect(outputs.count == Self.prompts.count)
        #expect(!core.hasWork)
        #expect(core.scheduler.cache.pool.freeCount == core.kvCacheBlockCount)
        for output in outputs {
            let prompt = Self.prompts[output.requestID]
            let expected: Float = switch kind {
            case .cls: Self.state(prompt, 0)
            case .last: Self.state(prompt, prompt.count - 1)
            case .mean: prompt.indices.map { Self.state(prompt, $0) }.reduce(0, +) / Float(prompt.count)
            }
            #expect(output.embedding == [expected])
            #expect(output.finishReason == .stop && output.tokenIDs.isEmpty && output.promptTokenCount == prompt.count)
        }
    }

    /// A prompt is never chunked: one that does not fit the rest of a step's budget (raised to the model length, 32,
    /// as without chunked prefill) waits for the next step.
    @Test func promptsRunWholeWithinTheBudget() throws {
        let core = try Self.engine(PoolerConfiguration(poolingType: .mean, normalize: false), batchedTokens: 10)
        try core.addPooling(id: 0, promptTokenIDs: Array(repeating: 3, count: 20))
        try core.addPooling(id: 1, promptTokenIDs: Array(repeating: 3, count: 20))
        #expect(core.step().map(\.requestID) == [0])
        #expect(core.step().map(\.requestID) == [1])
    }

    @Test func normalizesDimensionsAndRefusesGeneration() throws {
        let core = try Self.engine(PoolerConfiguration(poolingType: .last, normalize: true))
        try core.addPooling(id: 0, promptTokenIDs: [2, 3])
        #expect(core.step().first?.embedding == [1])
        #expect(throws: EngineError.self) { try core.add(id: 1, promptTokenIDs: [1], parameters: SamplingParameters()) }
        #expect(throws: EngineError.self) { try core.addPooling(id: 2, promptTokenIDs: [1], parameters: PoolingParameters(dimensions: 1)) }
        #expect(throws: EngineError.self) { try core.addPooling(id: 3, promptTokenIDs: Array(repeating: 1, count: 33)) }
        try core.addPooling(id: 4, promptTokenIDs: Array(repeating: 1, count: 40), parameters: PoolingParameters(truncatePromptTokens: -1))
        #expect(core.step().first?.promptTokenCount == 32)
    }

    /// A generation engine refuses pooling requests, and `--runner`/`--convert` pick the runner as vLLM does.
    @Test func runnerSelection() throws {
        let model = FakeLanguageModel()
        var options = EngineOptions()
        #expect(try PoolingSetup(model: model, declared: nil, options: options).pooler == nil)
        options.convert = .embed
        #expect(try PoolingSetup(model: model, declared: nil, options: options).pooler == PoolerConfiguration(poolingType: .last))
        options.poolerConfig = #"{"pooling_type": "mean", "normalize": false}"#
        #expect(try PoolingSetup(model: model, declared: nil, options: options).pooler == PoolerConfiguration(poolingType: .mean, normalize: false))
        options.poolerConfig = #"{"pooling": "MEAN"}"#
        #expect(throws: EngineError.self) { try PoolingSetup(model: model, declared: nil, options: options) }
        var generate = EngineOptions()
        generate.kvCacheType = .f32
        generate.kvCacheSpaceGiB = 0.001
        let core = try EngineCore(model: model, tokenizer: try FakeLanguageModel.tokenizer(), options: generate)
        #expect(throws: EngineError.self) { try core.addPooling(id: 0, promptTokenIDs: [1]) }
    }
}
