/// What a logits processor sees of the request whose row it reshapes.
public struct LogitsContext {
    public var requestID: Int
    public var parameters: SamplingParameters
    /// The request's prompt (the repetition penalty covers prompt and output).
    public var promptTokens: ArraySlice<Int32>
    /// Tokens generated so far.
    public var outputTokens: ArraySlice<Int32>
    /// The model's end-of-generation ids.
    public var endOfGeneration: Set<Int32>

    public init(requestID: Int = 0, parameters: SamplingParameters, promptTokens: ArraySlice<Int32>, outputTokens: ArraySlice<Int32>,
                endOfGeneration: Set<Int32>) {
        self.requestID = requestID
        self.parameters = parameters
        self.promptTokens = promptTokens
        self.outputTokens = outputTokens
        self.endOfGeneration = endOfGeneration
    }

    /// Ids that end generation: the model's end-of-generation ids (unless `ignore_eos`) and `stop_token_ids`. Built
    /// on demand (only min_tokens reads it), not for every sampled row.
    public var stopTokenIDs: Set<Int32> { parameters.stopTokenIDs(endOfGeneration: endOfGeneration) }
}

/// One step that reshapes a request's logits row before sampling (vLLM's logits processors): a bias, a mask, a
/// penalty. A processor that keeps per-request state (a grammar's matcher) advances it from `outputTokens` and drops
/// it in `finished(requestID:)`.
public protocol LogitsProcessor: AnyObject {
    /// Whether the processor changes rows of requests with these parameters; the chain skips it otherwise.
    func applies(to parameters: SamplingParameters) -> Bool
    /// Reshapes `logits` (one row of the vocabulary) in place.
    func apply(_ logits: UnsafeMutableBufferPointer<Float>, _ context: LogitsContext)
    /// The request ended (finished, aborted or preempted for good); forget its state.
    func finished(requestID: Int)
}

extension LogitsProcessor {
    public func finished(requestID: Int) {}
}

/// The processors a row goes through, in order. The built-in chain is vLLM's order (shared/SPEC.md): allowed ids,
/// bad words, min_tokens, logit_bias, then the repetition, frequency and presence penalties.
public struct LogitsProcessorChain {
    public var processors: [any LogitsProcessor]

    public init(_ processors: [any LogitsProcessor]) { self.processors = processors }

    /// A fresh chain of the built-in processors.
    public static func builtIn() -> LogitsProcessorChain {
        LogitsProcessorChain([AllowedTokenIDsProcessor(), BadWordsProcessor(), MinTokensProcessor(), LogitBiasProcessor(), RepetitionPenaltyProcessor(),
                              OccurrencePenaltyProcessor()])
    }

    /// Runs every processor that applies to the request, in order.
    public func apply(_ logits: UnsafeMutableBufferPointer<Float>, _ context: LogitsContext) {
        for p in processors where p.applies(to: context.parameters) { p.apply(logits, context) }
    }

    /// Tells every processor the request ended.
    public func finished(requestID: Int) {
        for p in processors { p.finished(requestID: requestID) }
    }
}
