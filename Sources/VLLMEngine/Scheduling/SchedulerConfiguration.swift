/// Limits and policy of the scheduler (vLLM's flags in comments).
public struct SchedulerConfiguration: Sendable, Equatable {
    public enum Policy: String, Sendable, CaseIterable {
        /// First come, first served.
        case fcfs
        /// Lower `priority` value first, then arrival.
        case priority
    }

    /// `--max-num-batched-tokens`: tokens computed in one step.
    public var maxBatchedTokens: Int = 2048
    /// `--max-num-seqs`: requests running at once.
    public var maxRunningRequests: Int = 256
    /// `--long-prefill-token-threshold`: most prompt tokens one request may take in a step (0 = no limit).
    public var longPrefillTokenThreshold: Int = 0
    /// `--scheduling-policy`.
    public var policy: Policy = .fcfs
    /// `--max-model-len`.
    public var maxModelLength: Int = 8192
    /// `--enable-chunked-prefill` (default) / `--no-enable-chunked-prefill`: whether a prompt may be computed
    /// over several steps. Without it a prompt is scheduled whole, and the step budget is raised to at least
    /// `maxModelLength` (as vLLM does) so that every admissible prompt fits in one step.
    public var chunkedPrefill: Bool = true
    /// Prompt tokens of requests with `prompt_logprobs` computed in one step (each needs a row of logits, 0.6 MB on
    /// a 151,936-token vocabulary): such prompts run in chunks of this size, with or without chunked prefill.
    public var maxPromptLogprobTokens: Int = 256

    public init(maxBatchedTokens: Int = 2048, maxRunningRequests: Int = 256, longPrefillTokenThreshold: Int = 0,
                policy: Policy = .fcfs, maxModelLength: Int = 8192, chunkedPrefill: Bool = true) {
        self.chunkedPrefill = chunkedPrefill
        self.maxBatchedTokens = chunkedPrefill ? maxBatchedTokens : max(maxBatchedTokens, maxModelLength)
        self.maxRunningRequests = maxRunningRequests
        self.longPrefillTokenThreshold = longPrefillTokenThreshold
        self.policy = policy
        self.maxModelLength = maxModelLength
    }
}

/// What one step computes: for each scheduled request, how many of its tokens, from which position.
public struct ScheduledBatch {
    public struct Entry {
        public let request: Request
        public let tokenCount: Int
        public let startPosition: Int
        /// True when this step reaches the request's last known token, so its logits are sampled.
        public var samples: Bool { startPosition + tokenCount == request.tokenCount }
    }

    public var entries: [Entry] = []
    /// Requests preempted by this step (their blocks were freed; they will be recomputed).
    public var preempted: [Request] = []
    /// Requests the scheduler ended with `.length` because the whole KV cache cannot hold them (their blocks
    /// are already freed); they are not in `entries`.
    public var finished: [Request] = []

    public var tokenCount: Int { entries.reduce(0) { $0 + $1.tokenCount } }
    public var isEmpty: Bool { entries.isEmpty }
}
