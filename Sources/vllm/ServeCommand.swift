import ArgumentParser
import Foundation
import Hummingbird
import Logging
import VLLMEngine
import VLLMServer
import VLLMTokenizers

/// `vllm serve [MODEL]`: the OpenAI-compatible server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve a model over the OpenAI-compatible HTTP API.")

    @Argument(help: "A GGUF file, a Hugging Face model directory, or org/name in the local HF cache (default: SmolLM2-135M-Instruct).")
    var model: String?

    @Option(name: .long, help: "Address to listen on (default: all interfaces).")
    var host: String = "0.0.0.0"

    @Option(name: .long, help: "Port to listen on.")
    var port: Int = 8000

    @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer KEY' on /v1 (also VLLM_API_KEY).")
    var apiKey: [String] = []

    @Option(name: .customLong("served-model-name"), parsing: .upToNextOption, help: "Names the model answers to (default: the MODEL argument).")
    var servedModelName: [String] = []

    @Option(name: .customLong("chat-template"), help: "A chat template file or template text, replacing the model's.")
    var chatTemplate: String?

    @Option(name: .customLong("max-logprobs"), help: "Most logprobs a request may ask for.")
    var maxLogprobs: Int = 20

    @Option(name: .customLong("max-waiting-requests"), help: "Beyond this many waiting requests, new ones get 503.")
    var maxWaitingRequests: Int = 1024

    @Flag(name: .customLong("disable-log-requests"), help: "Do not log each request.")
    var disableLogRequests = false

    @OptionGroup var engine: EngineArguments

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be in 1...65535, got \(port)") }
        guard maxLogprobs >= 0 else { throw ValidationError("--max-logprobs must be non-negative") }
    }

    func run() async throws {
        var logger = Logger(label: "vllm")
        logger.logLevel = .info
        let start = Date()
        let core = try EngineCore.load(model: model, options: try engine.options())
        let tokenizer = core.tokenizer, weights = core.model.weightTypeDescription
        let chat = try ChatFormatter(tokenizer: tokenizer, override: chatTemplate)
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.apiKeys = apiKey + (ProcessInfo.processInfo.environment["VLLM_API_KEY"].map { [$0] } ?? [])
        configuration.servedModelNames = servedModelName.isEmpty ? [model ?? DefaultModel.fileName] : servedModelName
        configuration.maxLogprobs = maxLogprobs
        configuration.maxWaitingRequests = maxWaitingRequests
        configuration.logRequests = !disableLogRequests
        let asyncEngine = AsyncEngine(core: core)
        let backend = EngineBackend(engine: asyncEngine, tokenizer: tokenizer, chat: chat)
        let context = ServerContext(backend: backend, configuration: configuration)
        logger.info("model \(configuration.primaryModelName) (\(weights)), KV cache \(asyncEngine.kvCacheBlockCount) blocks × \(engine.blockSize) tokens, max model len \(asyncEngine.limits.maxModelLength), loaded in \(String(format: "%.2f", Date().timeIntervalSince(start))) s; listening on http://\(host):\(port)")
        let stats = StatsLogger(engine: asyncEngine, logger: logger)
        let app = OpenAIServer.application(context, logger: logger)
        let statsTask = Task { await stats.run() }
        try await app.runService()
        statsTask.cancel()
        asyncEngine.shutdown()
        logger.info("server stopped")
    }
}

/// A log line every few seconds while there is traffic: throughput, queue sizes, KV usage, prefix-cache hits.
struct StatsLogger: Sendable {
    let engine: AsyncEngine
    let logger: Logger

    func run() async {
        var previous = engine.snapshot
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(5))
            let now = engine.snapshot
            guard now.steps != previous.steps || now.running + now.waiting > 0 else { continue }
            let hits = now.prefixQueryTokens > 0 ? Double(now.prefixHitTokens) / Double(now.prefixQueryTokens) * 100 : 0
            let promptRate = Double(now.promptTokens - previous.promptTokens) / 5, generationRate = Double(now.generationTokens - previous.generationTokens) / 5
            logger.info("Engine: avg prompt throughput \(String(format: "%.1f", promptRate)) tokens/s, avg generation throughput \(String(format: "%.1f", generationRate)) tokens/s, running \(now.running), waiting \(now.waiting), KV cache usage \(String(format: "%.1f", now.kvCacheUsage * 100))%, prefix cache hit rate \(String(format: "%.1f", hits))%")
            previous = now
        }
    }
}
