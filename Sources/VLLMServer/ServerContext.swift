import Foundation
import Hummingbird
import Logging
import VLLMEngine

/// What every endpoint shares: the backend, the configuration, metrics, and request checks.
public struct ServerContext: Sendable {
    public let backend: any GenerationBackend
    public let configuration: ServerConfiguration
    public let metrics: ServerMetrics
    /// Where accepted requests are logged (unless `--disable-log-requests`).
    public let logger: Logger

    /// `metrics`: made before the engine when its steps report to them (`ServerMetrics.iterationTokens`).
    public init(backend: any GenerationBackend, configuration: ServerConfiguration, logger: Logger = Logger(label: "vllm"),
                metrics: ServerMetrics? = nil) {
        self.backend = backend
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics ?? ServerMetrics(modelName: configuration.primaryModelName)
    }

    /// One line per accepted request, as vLLM's request log: its id, prompt sizes and sampling settings.
    func logReceived(_ id: String, _ choices: [ChoiceRunner.Choice]) {
        guard configuration.logRequests, let first = choices.first else { return }
        let p = first.parameters
        let prompts = Set(choices.map(\.promptIndex)).count
        let sampling = "max_tokens \(p.maxTokens.map(String.init) ?? "-"), temperature \(p.temperature), top_p \(p.topP), top_k \(p.topK), "
            + "seed \(p.seed.map(String.init) ?? "-")"
        logger.info("Received request \(id): \(prompts) prompt(s), \(choices.count) choice(s), prompt tokens \(first.promptTokenIDs.count), \(sampling)")
    }

    var runner: ChoiceRunner { ChoiceRunner(backend: backend, metrics: metrics) }

    /// The token ids of each text, tokenized on a work thread when long (`WorkThreads`): a 10 MB prompt takes
    /// seconds.
    func tokenize(_ texts: [String], addSpecialTokens: Bool) async -> [[Int32]] {
        let backend = backend
        return await WorkThreads.shared.run(size: texts.reduce(0) { $0 + $1.utf8.count }) {
            texts.map { backend.tokenize($0, addSpecialTokens: addSpecialTokens) }
        }
    }

    func tokenize(_ text: String, addSpecialTokens: Bool) async -> [Int32] {
        await tokenize([text], addSpecialTokens: addSpecialTokens)[0]
    }

    /// The text of token ids, detokenized on a work thread when long.
    func detokenize(_ ids: [Int32], skipSpecialTokens: Bool) async -> String {
        let backend = backend
        return await WorkThreads.shared.run(size: ids.count * 4) { backend.detokenize(ids, skipSpecialTokens: skipSpecialTokens) }
    }

    /// The `model` field must name a served model (404 otherwise); absent means the first one.
    func checkModel(_ fields: RequestFields) throws -> String {
        guard let model = try fields.string("model") else { return configuration.primaryModelName }
        guard configuration.servedModelNames.contains(model) else {
            throw APIError(status: .notFound, message: "The model `\(model)` does not exist.", type: "NotFoundError", param: "model")
        }
        return model
    }

    /// 503 when the engine is down, draining for shutdown, or has `--max-waiting-requests` requests waiting
    /// already: new work is refused rather than queued without bound.
    func checkAdmission() throws {
        let snapshot = backend.snapshot
        guard snapshot.isAlive else { throw APIError(status: .serviceUnavailable, message: "The engine is not running.") }
        guard snapshot.isAcceptingRequests else {
            throw APIError(status: .serviceUnavailable, message: "The server is shutting down and takes no new requests.")
        }
        if snapshot.waiting >= configuration.maxWaitingRequests {
            throw APIError(status: .serviceUnavailable,
                           message: "The server is overloaded: \(snapshot.waiting) requests are waiting (--max-waiting-requests \(configuration.maxWaitingRequests)). Retry later.")
        }
    }

    /// Refuses more prompts in one request than `--max-sequences-per-request` (checked before tokenizing them).
    func checkPromptCount(_ count: Int, param: String = "prompt") throws(APIError) {
        let limit = configuration.maxSequencesPerRequest
        if count > limit {
            throw APIError.invalid("A request may carry at most \(limit) prompts, got \(count) (--max-sequences-per-request \(limit)).", param: param)
        }
    }

    /// Refuses `n`, or prompts times `n`, above `--max-sequences-per-request` (vLLM bounds `n` by
    /// `VLLM_MAX_N_SEQUENCES` with a message of this form).
    func checkSequenceCount(prompts: Int, n: Int) throws(APIError) {
        let limit = configuration.maxSequencesPerRequest
        if n > limit {
            throw APIError.invalid("n must be at most \(limit), got \(n). To increase this limit, start the server with --max-sequences-per-request.", param: "n")
        }
        try checkPromptCount(prompts)
        if prompts * n > limit {
            throw APIError.invalid("A request may ask for at most \(limit) sequences, got \(prompts) prompts x n \(n) = \(prompts * n) (--max-sequences-per-request \(limit)).", param: "n")
        }
    }

    /// Validates parameters and limits for every prompt and returns the choices to run.
    func prepare(prompts: [[Int32]], parameters: SamplingParameters) async throws -> [ChoiceRunner.Choice] {
        var parameters = parameters
        try Self.validate(parameters, limits: backend.limits, maxLogprobs: configuration.maxLogprobs)
        if !parameters.badWords.isEmpty {
            // Tokenized here, on a work thread, not on the engine's loop (a long list would hold every request up).
            let backend = backend, words = parameters.badWords
            parameters.badWordsTokenIDs = await WorkThreads.shared.run(size: words.reduce(0) { $0 + $1.utf8.count }) {
                BadWordsProcessor.tokenSequences(words) { backend.tokenize($0, addSpecialTokens: false) }
            }
        }
        if let constraint = parameters.structuredOutputs {
            do {
                try await backend.compileStructuredOutputs(constraint)
            } catch let error as InvalidParameter {
                throw APIError.invalid(error.message, param: error.parameter)
            }
        }
        try checkSequenceCount(prompts: prompts.count, n: parameters.n)
        try checkAdmission()
        var choices = ChoiceRunner.choices(prompts: prompts, parameters: parameters)
        for i in choices.indices {
            let p = try Self.fitted(choices[i].parameters, promptTokenIDs: choices[i].promptTokenIDs, limits: backend.limits)
            choices[i] = ChoiceRunner.Choice(index: choices[i].index, promptIndex: choices[i].promptIndex,
                                             promptTokenIDs: choices[i].promptTokenIDs, parameters: p)
        }
        return choices
    }

    /// The sampling parameters' own checks and the model's token-id range, as 400s (shared with `RequestDecoding`).
    static func validate(_ parameters: SamplingParameters, limits: RequestLimits, maxLogprobs: Int) throws(APIError) {
        do {
            try parameters.validate(maxLogprobs: maxLogprobs)
            try limits.validateTokenIDs(parameters)
        } catch {
            throw .invalid(error.message, param: error.parameter)
        }
    }

    /// `parameters` for one prompt: max_tokens defaulted to the rest of the context, as vLLM's server does, and
    /// prompt plus max_tokens checked against the context, as a 400 (shared with `RequestDecoding`).
    static func fitted(_ parameters: SamplingParameters, promptTokenIDs: [Int32], limits: RequestLimits) throws(APIError) -> SamplingParameters {
        var p = parameters
        if p.maxTokens == nil { p.maxTokens = max(1, limits.maxModelLength - promptTokenIDs.count) }
        do {
            try limits.validate(promptTokenIDs: promptTokenIDs, parameters: p)
        } catch {
            throw .invalid(error.message, param: error.message.hasPrefix("'max_tokens'") ? "max_tokens" : "prompt")
        }
        return p
    }
}
