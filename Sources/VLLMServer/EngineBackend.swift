import VLLMEngine
import VLLMGrammar
import VLLMTokenizers

/// The real backend: an `AsyncEngine` plus the model's tokenizer and chat template.
public struct EngineBackend: GenerationBackend {
    public let engine: AsyncEngine
    public let tokenizer: Tokenizer
    public let chat: ChatFormatter

    public init(engine: AsyncEngine, tokenizer: Tokenizer, chat: ChatFormatter) {
        self.engine = engine
        self.tokenizer = tokenizer
        self.chat = chat
    }

    public var limits: RequestLimits { engine.limits }
    public var snapshot: AsyncEngine.Snapshot { engine.snapshot }

    public func tokenize(_ text: String, addSpecialTokens: Bool) -> [Int32] {
        tokenizer.promptTokenIDs(text, addSpecialTokens: addSpecialTokens)
    }

    public func detokenize(_ ids: [Int32], skipSpecialTokens: Bool) -> String {
        tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
    }

    public func renderChat(_ request: ChatRequest) async throws -> String { try await chat.render(request) }

    public func generate(promptTokenIDs: [Int32], parameters: SamplingParameters, priority: Int) -> AsyncThrowingStream<RequestOutput, Error> {
        engine.submit(promptTokenIDs: promptTokenIDs, parameters: parameters, priority: priority)
    }

    public var isPooling: Bool { engine.isPooling }
    public var endOfSequenceTokenID: Int32? { tokenizer.eosTokenID }

    public func compileStructuredOutputs(_ constraint: StructuredOutputs) async throws {
        guard let manager = engine.structuredOutputs else {
            throw InvalidParameter("structured_outputs", "a pooling model does not generate text to constrain")
        }
        // Compiling a schema over a large vocabulary takes milliseconds: not on the event loop.
        _ = try await WorkThreads.shared.run(size: .max) { () throws -> Bool in _ = try manager.compile(constraint); return true }
    }

    public func embed(promptTokenIDs: [Int32], parameters: PoolingParameters, priority: Int) -> AsyncThrowingStream<RequestOutput, Error> {
        engine.submitPooling(promptTokenIDs: promptTokenIDs, parameters: parameters, priority: priority)
    }
}
