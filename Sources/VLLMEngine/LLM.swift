import Foundation
import VLLMKernels
import VLLMModelFormats
import VLLMModels
import VLLMTokenizers

/// One sample of a prompt's completion.
public struct CompletionOutput: Sendable {
    /// Which of the `n` samples this is.
    public var index: Int
    public var text: String
    public var tokenIDs: [Int32]
    /// "stop" (end of generation, a stop string or stop token) or "length" (max_tokens or the context).
    public var finishReason: FinishReason
    public var logprobs: [TokenLogprobs]
}

/// All samples of one prompt, in the order the prompts were given.
public struct GenerationResult: Sendable {
    public var promptTokenIDs: [Int32]
    public var cachedPromptTokenCount: Int
    public var outputs: [CompletionOutput]
    /// With `prompt_logprobs`: the logprobs of prompt tokens 1, 2, ... (vLLM's `prompt_logprobs` without its
    /// leading None for token 0); nil otherwise.
    public var promptLogprobs: [TokenLogprobs]? = nil
    /// Seconds from submission to the first generated token, and to the last sample's end.
    public var timeToFirstToken: Double?
    public var latency: Double = 0
}

/// The offline API: load a model once, then generate for batches of prompts with continuous batching.
/// Not thread-safe: use one `LLM` from one thread at a time (the server uses `AsyncEngine`).
public final class LLM {
    public let core: EngineCore
    public var tokenizer: Tokenizer { core.tokenizer }
    public var model: any LanguageModel { core.model }
    var nextID = 0

    /// Loads `model` (a GGUF file, a Hugging Face directory, or `org/name` in the local HF cache; nil = the default model).
    public init(model: String? = nil, options: EngineOptions = EngineOptions()) throws {
        core = try EngineCore.load(model: model, options: options)
        StartupGate.open()  // the engine is built: its background warm-up (huge pages, KV pages) may start
    }

    /// vLLM's spelling: `gpuMemoryUtilization` is the fraction of the machine's memory the weights and the KV cache
    /// may take together (`EngineOptions.memoryUtilization`); `tensorParallelSize` processes split the model
    /// (`TensorParallelLauncher`: the others run `vllm tp-worker`, found as `WorkerProcesses.workerExecutable` says).
    public convenience init(model: String? = nil, gpuMemoryUtilization: Double, tensorParallelSize: Int = 1,
                            options: EngineOptions = EngineOptions()) throws {
        guard tensorParallelSize >= 1 else { throw EngineError("tensorParallelSize must be at least 1, got \(tensorParallelSize)") }
        guard gpuMemoryUtilization > 0, gpuMemoryUtilization <= 1 else {
            throw EngineError("gpuMemoryUtilization must be in (0, 1], got \(gpuMemoryUtilization)")
        }
        var options = options
        options.memoryUtilization = gpuMemoryUtilization
        options.tensorParallelSize = tensorParallelSize
        try self.init(model: model, options: options)
    }

    /// The sampling parameters a request gets when it sets none: vLLM's defaults with the model's generation config
    /// in their place (`--generation-config`; vLLM's `LLM.get_default_sampling_params`).
    public func defaultSamplingParameters() -> SamplingParameters {
        var parameters = core.samplingDefaults.parameters
        parameters.seed = core.options.seed
        return parameters
    }

    /// Generates for every prompt (text) and returns results in prompt order. Prompts are tokenized as the server's
    /// are (`Tokenizer.promptTokenIDs`): special-token text such as `<|im_start|>` is that token.
    public func generate(_ prompts: [String], _ parameters: SamplingParameters = SamplingParameters()) throws -> [GenerationResult] {
        try generate(promptTokenIDs: prompts.map { tokenizer.promptTokenIDs($0) }, parameters)
    }

    /// Generates for every tokenized prompt with the same parameters; `n` samples each, all running together.
    public func generate(promptTokenIDs prompts: [[Int32]], _ parameters: SamplingParameters = SamplingParameters(),
                         onOutput: (Int, RequestOutput) -> Void = { _, _ in }) throws -> [GenerationResult] {
        try generate(requests: prompts.map { ($0, parameters) }, onOutput: onOutput)
    }

    /// Generates for prompts that each carry their own parameters; results in the order given.
    /// `onOutput(promptIndex, output)` sees every step's output as it is produced; `maxLogprobs` caps `logprobs` and
    /// `prompt_logprobs` (vLLM's default 20; -1: the whole vocabulary).
    public func generate(requests: [(promptTokenIDs: [Int32], parameters: SamplingParameters)], maxLogprobs: Int = 20,
                         onOutput: (Int, RequestOutput) -> Void = { _, _ in }) throws -> [GenerationResult] {
        for request in requests {
            try request.parameters.validate(maxLogprobs: maxLogprobs)
            try core.validate(promptTokenIDs: request.promptTokenIDs, parameters: request.parameters)
        }
        let start = Date()
        var results = requests.map { GenerationResult(promptTokenIDs: $0.promptTokenIDs, cachedPromptTokenCount: 0, outputs: []) }
        var owner: [Int: (prompt: Int, sample: Int)] = [:]
        var partial: [Int: CompletionOutput] = [:]
        for (p, (prompt, parameters)) in requests.enumerated() {
            for sample in 0..<parameters.n {
                var perSample = parameters
                // Seeded requests with n > 1 draw distinct but repeatable samples.
                if let seed = parameters.seed { perSample.seed = seed &+ UInt64(sample) }
                let id = nextID
                nextID += 1
                try core.add(id: id, promptTokenIDs: prompt, parameters: perSample)
                owner[id] = (p, sample)
                partial[id] = CompletionOutput(index: sample, text: "", tokenIDs: [], finishReason: .length, logprobs: [])
            }
        }
        while core.hasWork {
            for output in core.step() {
                guard let (p, _) = owner[output.requestID] else { continue }
                onOutput(p, output)
                if results[p].timeToFirstToken == nil { results[p].timeToFirstToken = Date().timeIntervalSince(start) }
                partial[output.requestID]!.text += output.text
                partial[output.requestID]!.tokenIDs += output.tokenIDs
                partial[output.requestID]!.logprobs += output.logprobs
                if let prompt = output.promptLogprobs, results[p].promptLogprobs == nil { results[p].promptLogprobs = prompt }
                if let reason = output.finishReason {
                    partial[output.requestID]!.finishReason = reason
                    results[p].cachedPromptTokenCount = output.cachedPromptTokenCount
                    results[p].latency = Date().timeIntervalSince(start)
                }
            }
        }
        for (id, (p, _)) in owner.sorted(by: { $0.key < $1.key }) { results[p].outputs.append(partial[id]!) }
        return results
    }

    /// Completes one prompt, calling `onText` with each piece of text as soon as it is decoded.
    public func generate(_ prompt: String, _ parameters: SamplingParameters = SamplingParameters(),
                         onText: (String) -> Void) throws -> GenerationResult {
        var single = parameters
        single.n = 1
        return try generate(promptTokenIDs: [tokenizer.promptTokenIDs(prompt)], single) { _, output in onText(output.text) }[0]
    }
}
