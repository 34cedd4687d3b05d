import OrderedCollections
import VLLMEngine
import VLLMGrammar
import VLLMJSON

/// What the HTTP layer needs from an engine. `EngineBackend` is the real one; tests use a fake.
public protocol GenerationBackend: Sendable {
    var limits: RequestLimits { get }
    /// Engine state for /metrics and /load.
    var snapshot: AsyncEngine.Snapshot { get }
    /// The token ids of prompt text, special-token text included (the engine's `Tokenizer.promptTokenIDs`).
    func tokenize(_ text: String, addSpecialTokens: Bool) -> [Int32]
    func detokenize(_ ids: [Int32], skipSpecialTokens: Bool) -> String
    /// Renders a conversation with the model's chat template into prompt text, off the caller's thread (templates
    /// are slow at worst: they run on the template threads within their limits).
    func renderChat(_ chat: ChatRequest) async throws -> String
    /// Starts generating; the stream ends with the output that carries a finish reason.
    func generate(promptTokenIDs: [Int32], parameters: SamplingParameters, priority: Int) -> AsyncThrowingStream<RequestOutput, Error>
    /// Whether the model is a pooling (embedding) model: it answers /v1/embeddings, /score and /rerank, not generation.
    var isPooling: Bool { get }
    /// The tokenizer's end-of-sequence id, which ends a beam of beam search (nil: none).
    var endOfSequenceTokenID: Int32? { get }
    /// Starts a pooling request; the stream yields one output carrying `embedding`.
    func embed(promptTokenIDs: [Int32], parameters: PoolingParameters, priority: Int) -> AsyncThrowingStream<RequestOutput, Error>
    /// Compiles an output constraint before its request queues, off the caller's thread: a bad schema, regex or
    /// grammar throws `InvalidParameter` (a 400), and the engine later finds the grammar compiled.
    func compileStructuredOutputs(_ constraint: StructuredOutputs) async throws
}

extension GenerationBackend {
    public var isPooling: Bool { false }
    public var endOfSequenceTokenID: Int32? { nil }

    public func compileStructuredOutputs(_ constraint: StructuredOutputs) async throws {
        throw InvalidParameter("structured_outputs", "this backend cannot constrain outputs")
    }

    public func embed(promptTokenIDs: [Int32], parameters: PoolingParameters, priority: Int) -> AsyncThrowingStream<RequestOutput, Error> {
        AsyncThrowingStream { $0.finish(throwing: EngineError("this backend has no pooling model")) }
    }
}

/// A conversation as the chat endpoint received it, for the chat template.
public struct ChatRequest: Sendable {
    /// `messages` (role, content as a string or a list of parts, tool calls...).
    public var messages: [JSONValue]
    public var tools: [JSONValue]?
    public var documents: [JSONValue]?
    public var addGenerationPrompt: Bool
    public var continueFinalMessage: Bool
    /// `chat_template_kwargs`, passed to the template as extra variables.
    public var templateArguments: JSONObject

    public init(messages: [JSONValue], tools: [JSONValue]? = nil, documents: [JSONValue]? = nil, addGenerationPrompt: Bool = true,
                continueFinalMessage: Bool = false, templateArguments: JSONObject = [:]) {
        self.messages = messages
        self.tools = tools
        self.documents = documents
        self.addGenerationPrompt = addGenerationPrompt
        self.continueFinalMessage = continueFinalMessage
        self.templateArguments = templateArguments
    }
}
