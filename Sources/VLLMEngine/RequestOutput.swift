/// What one engine step produced for one request: new tokens and text, and the finish reason once done.
public struct RequestOutput: Sendable {
    public var requestID: Int
    /// Text decoded from this step's tokens (held back while it could still be a stop string's start).
    public var text: String
    public var tokenIDs: [Int32]
    /// Log-probabilities for each token in `tokenIDs`, when the request asked for them.
    public var logprobs: [TokenLogprobs]
    public var finishReason: FinishReason?
    public var promptTokenCount: Int
    /// Prompt tokens served from the prefix cache.
    public var cachedPromptTokenCount: Int
    /// A pooling request's vector (its only output, with finish reason `.stop`); nil for generation.
    public var embedding: [Float]? = nil
    /// With `prompt_logprobs`, in the request's first output only: the logprobs of prompt tokens 1, 2, ... (vLLM's
    /// list starts with None for token 0, which has no context).
    public var promptLogprobs: [TokenLogprobs]? = nil
    /// In a generation request's last output: where its time went (nil if it was never scheduled).
    public var timing: RequestTiming? = nil

    public var isFinished: Bool { finishReason != nil }

    public init(requestID: Int, text: String, tokenIDs: [Int32], logprobs: [TokenLogprobs] = [], finishReason: FinishReason? = nil,
                promptTokenCount: Int, cachedPromptTokenCount: Int = 0) {
        self.requestID = requestID
        self.text = text
        self.tokenIDs = tokenIDs
        self.logprobs = logprobs
        self.finishReason = finishReason
        self.promptTokenCount = promptTokenCount
        self.cachedPromptTokenCount = cachedPromptTokenCount
    }
}
