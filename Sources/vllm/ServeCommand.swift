import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import VLLMEngine
import VLLMKernels
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

    @Option(name: .customLong("max-logprobs"), help: "Most logprobs (and prompt logprobs) a request may ask for; -1: the whole vocabulary.")
    var maxLogprobs: Int = 20

    @Option(name: .customLong("max-waiting-requests"), help: "Beyond this many waiting requests, new ones get 503.")
    var maxWaitingRequests: Int = 1024

    @Option(name: .customLong("limit-concurrency"),
            help: "Connections served at once (uvicorn's name); beyond them idle ones are closed, else requests get 503 (also VLLM_MAX_CONNECTIONS; default: from the open-file limit).")
    var limitConcurrency: Int?

    @Option(name: .customLong("max-sequences-per-request"),
            help: "Most sequences one request may ask for: n, prompts in one request, and prompts times n (400 beyond).")
    var maxSequencesPerRequest: Int = 128

    @Option(name: .customLong("shutdown-timeout"),
            help: "Seconds in-flight requests may keep running after SIGINT/SIGTERM before they are aborted (0: abort at once).")
    var shutdownTimeout: Int = 0

    @Option(name: .customLong("kv-events-config"),
            help: "vLLM's KV-events JSON, e.g. '{\"enable_kv_cache_events\": true, \"endpoint\": \"tcp://*:5557\"}': publish prefix-cache changes over ZeroMQ (PUB) for cache-aware routers.")
    var kvEventsConfig: String?

    @Flag(name: .customLong("disable-log-requests"), help: "Do not log each request.")
    var disableLogRequests = false

    @Flag(name: .customLong("disable-log-stats"), help: "Do not log engine statistics every few seconds (VLLM_LOG_STATS_INTERVAL, default 5).")
    var disableLogStats = false

    @Flag(name: .customLong("enable-auto-tool-choice"), help: "Let the model call tools on its own (tool_choice auto); needs --tool-call-parser.")
    var enableAutoToolChoice = false

    @Option(name: .customLong("tool-call-parser"), help: "How tool calls are read from the model's output: \(ToolParsers.names.joined(separator: ", ")).")
    var toolCallParser: String?

    @Option(name: .customLong("reasoning-parser"), help: "Move <think>...</think> from content to reasoning: \(ReasoningParser.names.joined(separator: ", ")).")
    var reasoningParser: String?

    @OptionGroup var engine: EngineArguments

    @OptionGroup var habits: ServeHabits

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be in 1...65535, got \(port)") }
        guard maxLogprobs >= -1 else { throw ValidationError("--max-logprobs must be -1 (the whole vocabulary) or non-negative, got \(maxLogprobs)") }
        guard maxSequencesPerRequest >= 1 else {
            throw ValidationError("--max-sequences-per-request must be at least 1, got \(maxSequencesPerRequest)")
        }
        guard maxWaitingRequests >= 1 else { throw ValidationError("--max-waiting-requests must be at least 1, got \(maxWaitingRequests)") }
        guard shutdownTimeout >= 0 else { throw ValidationError("--shutdown-timeout must be a non-negative number of seconds, got \(shutdownTimeout)") }
        try validateParsers()
        _ = try statsInterval()
        _ = try connectionSettings()
        _ = try habits.model(positional: model)
        _ = try kvEvents()
    }

    /// `--kv-events-config`, parsed; events need the prefix cache they describe.
    func kvEvents() throws -> KVEventsConfiguration {
        guard let kvEventsConfig else { return KVEventsConfiguration() }
        do {
            let configuration = try KVEventsConfiguration.parse(kvEventsConfig)
            if configuration.enabled && !engine.enablePrefixCaching {
                throw ValidationError("--kv-events-config describes the prefix cache: it needs --enable-prefix-caching")
            }
            return configuration
        } catch let error as KVEventsConfiguration.Invalid {
            throw ValidationError(error.description)
        }
    }

    /// vLLM's checks and messages for the tool-call and reasoning parser flags.
    func validateParsers() throws {
        if enableAutoToolChoice && toolCallParser == nil {
            throw ValidationError("--enable-auto-tool-choice requires --tool-call-parser")
        }
        if let toolCallParser, !ToolParsers.names.contains(toolCallParser) {
            throw ValidationError("invalid tool call parser: \(toolCallParser) (chose from { \(ToolParsers.names.joined(separator: ",")) })")
        }
        if let reasoningParser, ReasoningParser(name: reasoningParser) == nil {
            throw ValidationError("invalid reasoning parser: \(reasoningParser) (chose from { \(ReasoningParser.names.joined(separator: ",")) })")
        }
    }

    /// `--limit-concurrency` or `VLLM_MAX_CONNECTIONS` (nil: from the file limit), and vLLM's
    /// `VLLM_HTTP_TIMEOUT_KEEP_ALIVE` (seconds, 5 by default).
    func connectionSettings() throws -> (maxConnections: Int?, keepAlive: Duration) {
        let environment = ProcessInfo.processInfo.environment
        var connections = limitConcurrency
        if connections == nil, let text = environment["VLLM_MAX_CONNECTIONS"] {
            guard let value = Int(text) else { throw ValidationError("VLLM_MAX_CONNECTIONS must be an integer, got '\(text)'") }
            connections = value
        }
        if let connections, connections < 1 { throw ValidationError("--limit-concurrency must be at least 1, got \(connections)") }
        guard let text = environment["VLLM_HTTP_TIMEOUT_KEEP_ALIVE"] else { return (connections, .seconds(5)) }
        guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
            throw ValidationError("VLLM_HTTP_TIMEOUT_KEEP_ALIVE must be a positive number of seconds, got '\(text)'")
        }
        return (connections, .milliseconds(Int64(seconds * 1000)))
    }

    /// vLLM's `VLLM_LOG_STATS_INTERVAL` (seconds); 5 by default.
    func statsInterval() throws -> Duration {
        guard let text = ProcessInfo.processInfo.environment["VLLM_LOG_STATS_INTERVAL"] else { return .seconds(5) }
        guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
            throw ValidationError("VLLM_LOG_STATS_INTERVAL must be a positive number of seconds, got '\(text)'")
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    func run() async throws {
        var logger = Logger(label: "vllm")
        logger.logLevel = .info
        let start = Date()
        let model = try habits.model(positional: model)
        habits.announce(logger)
        let kvEvents = try kvEvents()
        var options = try engine.options()
        options.enableKVCacheEvents = kvEvents.enabled
        let core = try EngineCore.load(model: model, options: options)
        let tokenizer = core.tokenizer, weights = core.model.weightTypeDescription
        let chat = try ChatFormatter(tokenizer: tokenizer, override: chatTemplate)
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.apiKeys = apiKey + (ProcessInfo.processInfo.environment["VLLM_API_KEY"].map { [$0] } ?? [])
        configuration.servedModelNames = servedModelName.isEmpty ? [model ?? DefaultModel.fileName] : servedModelName
        configuration.maxLogprobs = maxLogprobs
        configuration.maxWaitingRequests = maxWaitingRequests
        configuration.maxSequencesPerRequest = maxSequencesPerRequest
        configuration.logRequests = !disableLogRequests
        configuration.enableAutoToolChoice = enableAutoToolChoice
        configuration.toolParser = toolCallParser.flatMap { ToolParsers.make($0, vocabularyHasArgsToken: tokenizer.tokenID("[ARGS]") != nil) }
        configuration.reasoningParser = reasoningParser.flatMap(ReasoningParser.init(name:))
        configuration.samplingDefaults = core.samplingDefaults
        if !core.samplingDefaults.isEmpty {
            logger.info("Default sampling parameters have been overridden by the model's generation config: \(core.samplingDefaults.description). If this is not intended, relaunch with --generation-config vllm.")
        }
        let fileLimit = ConnectionLimits.raiseFileLimit()
        let (connections, keepAlive) = try connectionSettings()
        configuration.connections = ConnectionLimits(fileLimit: fileLimit, maxConnections: connections, keepAliveTimeout: keepAlive)
        if let connections, connections > configuration.connections.maxConnections {
            logger.warning("--limit-concurrency \(connections) lowered to \(configuration.connections.maxConnections): the open-file limit is \(fileLimit)")
        }
        let blocks = core.kvCacheBlockCount, tokens = core.kvCacheTokenCount, packedBytes = core.model.packedWeightBytes
        let servedModel = core.model
        let publisher = kvEvents.enabled ? try await KVEventPublisher.start(kvEvents) : nil
        if let publisher { logger.info("publishing KV cache events on \(kvEvents.endpoint) (port \(publisher.port), topic '\(kvEvents.topic)')") }
        var sink: (@Sendable ([KVCacheEvent]) -> Void)? = nil
        if let publisher { sink = { publisher.publish($0) } }
        let metrics = ServerMetrics(modelName: configuration.primaryModelName)
        let asyncEngine = AsyncEngine(core: core, kvCacheEvents: sink, stepTokens: { metrics.iterationTokens($0) })
        let backend = EngineBackend(engine: asyncEngine, tokenizer: tokenizer, chat: chat)
        let context = ServerContext(backend: backend, configuration: configuration, logger: logger, metrics: metrics)
        let packedMiB = String(format: "%.1f", Double(packedBytes) / 1_048_576)
        logger.info("model \(configuration.primaryModelName) (\(weights), \(packedMiB) MiB packed), KV cache \(blocks) blocks × \(engine.blockSize) tokens = \(tokens) tokens, max model len \(asyncEngine.limits.maxModelLength), \(KernelISA.description) kernels, loaded in \(String(format: "%.2f", Date().timeIntervalSince(start))) s; listening on http://\(host):\(port) (\(configuration.connections.maxConnections) connections, keep-alive \(keepAlive))")
        // Shut down in reverse order: the stats line, then the engine (drains, then aborts what is left), then
        // the HTTP server, which by then has no request still generating.
        // Once the socket listens, the model's background warm-up (huge pages, KV cache pages) may start.
        var services: [any Service] = [OpenAIServer.application(context, logger: logger, onListening: { StartupGate.open() }),
                                       EngineService(engine: asyncEngine, drainTimeout: .seconds(shutdownTimeout), logger: logger)]
        if !disableLogStats { services.append(StatsLogger(backend: backend, interval: try statsInterval(), logger: logger)) }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        asyncEngine.shutdown()
        EngineArguments.reportProfile(servedModel)  // the engine's thread has stopped
        await publisher?.close()
        logger.info("server stopped")
    }
}
