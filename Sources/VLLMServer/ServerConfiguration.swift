import VLLMEngine

/// Settings of the OpenAI-compatible server (vLLM's flag names in comments).
public struct ServerConfiguration: Sendable {
    /// `--host`: all interfaces by default.
    public var host: String = "0.0.0.0"
    /// `--port`.
    public var port: Int = 8000
    /// `--api-key` / `VLLM_API_KEY`: when set, `/v1/*` needs `Authorization: Bearer KEY`.
    public var apiKeys: [String] = []
    /// `--served-model-name`: the names `model` may take; the first is reported.
    public var servedModelNames: [String] = ["default"]
    /// `--max-logprobs`.
    public var maxLogprobs: Int = 20
    /// Requests waiting beyond this bound get 503 instead of queueing without limit.
    public var maxWaitingRequests: Int = 1024
    /// `--max-sequences-per-request`: the most sequences one request may ask for: `n` (vLLM's
    /// `VLLM_MAX_N_SEQUENCES`), prompts in one completions request, and prompts times `n`.
    public var maxSequencesPerRequest: Int = 128
    /// `--disable-log-requests`.
    public var logRequests: Bool = true
    /// Keep-alive timeout and connection cap (`VLLM_HTTP_TIMEOUT_KEEP_ALIVE`, `--limit-concurrency`).
    public var connections = ConnectionLimits()
    /// `--enable-auto-tool-choice`: `tool_choice: "auto"` (the default with `tools`) lets the model call tools,
    /// read from its output by `toolParser`.
    public var enableAutoToolChoice: Bool = false
    /// `--tool-call-parser NAME` (`ToolParsers.make`).
    public var toolParser: (any ToolParser)? = nil
    /// `--reasoning-parser NAME`: thinking moves from `content` to `reasoning`.
    public var reasoningParser: ReasoningParser? = nil
    /// The engine's version string for `/version`.
    public var version: String = "0.1.0"
    /// Requests' sampling defaults from the model's generation config (`--generation-config`).
    public var samplingDefaults = SamplingDefaults()

    public init() {}

    public var primaryModelName: String { servedModelNames.first ?? "default" }
}
