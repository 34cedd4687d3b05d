/// Why a request stopped.
public enum FinishReason: String, Sendable, Equatable {
    /// End of generation token, stop token id or stop string.
    case stop
    /// max_tokens or the context length.
    case length
    /// Cancelled by the client.
    case abort
}

/// One sequence in the engine: prompt, generated tokens, and how much of it the KV cache holds.
/// Owned by the engine loop thread; the scheduler mutates it.
public final class Request {
    public enum Status: Equatable {
        case waiting, running, finished(FinishReason)
    }

    public let id: Int
    public let promptTokenIDs: [Int32]
    /// Prompt then generated tokens.
    public private(set) var tokenIDs: [Int32]
    public let parameters: SamplingParameters
    public let priority: Int
    /// Order of arrival (ties in priority go to the earlier request).
    public let arrival: Int
    public internal(set) var status: Status = .waiting
    /// Tokens whose K/V are in the cache (or scheduled to be written by the step in flight).
    public internal(set) var computedTokenCount = 0
    /// Prompt tokens found in the prefix cache when the request was first scheduled.
    public internal(set) var cachedPromptTokenCount = 0
    public internal(set) var preemptionCount = 0
    /// Hashes of the full blocks of `tokenIDs`, extended as tokens arrive.
    var blockHashes: [BlockHash] = []
    /// The largest total token count this request may reach (prompt + max_tokens, within the context).
    public let maxTotalTokens: Int
    /// Extra key mixed into every block hash (cache salt); requests with different keys never share blocks.
    public let cacheKey: UInt64
    /// Set for a pooling (embedding) request: it ends, its blocks freed, once its prompt is computed.
    public let pooling: PoolingParameters?
    /// With `prompt_logprobs`: the logprobs of prompt tokens 1, 2, ... (token 0 has none), computed chunk by chunk
    /// from the logits at the position before each; complete at `promptTokenIDs.count - 1` entries.
    public internal(set) var promptLogprobs: [TokenLogprobs] = []
    /// Whether the prompt logprobs went out (with the request's first output).
    var promptLogprobsDelivered = false
    /// When it was submitted, first scheduled, and first given a token (`RequestTiming`).
    public let queuedAt: ContinuousClock.Instant
    public internal(set) var scheduledAt: ContinuousClock.Instant?
    public internal(set) var firstTokenAt: ContinuousClock.Instant?

    public init(id: Int, promptTokenIDs: [Int32], parameters: SamplingParameters, maxModelLength: Int,
                priority: Int = 0, arrival: Int? = nil, cacheKey: UInt64 = 0, pooling: PoolingParameters? = nil,
                queuedAt: ContinuousClock.Instant = .now) {
        self.pooling = pooling
        self.queuedAt = queuedAt
        self.id = id
        self.promptTokenIDs = promptTokenIDs
        self.tokenIDs = promptTokenIDs
        self.parameters = parameters
        self.priority = priority
        self.arrival = arrival ?? id
        self.cacheKey = cacheKey
        let limit = parameters.maxTokens.map { promptTokenIDs.count + $0 } ?? maxModelLength
        maxTotalTokens = min(limit, maxModelLength)
    }

    public var outputTokenIDs: ArraySlice<Int32> { tokenIDs[promptTokenIDs.count...] }
    public var tokenCount: Int { tokenIDs.count }
    public var isFinished: Bool { if case .finished = status { true } else { false } }

    func append(_ token: Int32) { tokenIDs.append(token) }

    /// Whether the request still needs logits at prompt positions: its prompt logprobs are incomplete.
    var needsPromptLogits: Bool {
        parameters.promptLogprobs != nil && promptLogprobs.count < promptTokenIDs.count - 1
    }

    /// The positions of `start ..< start + count` whose logits give prompt logprobs not yet computed (the logits at
    /// position p score prompt token p + 1); empty for most requests.
    func promptLogitPositions(start: Int, count: Int) -> Range<Int> {
        guard needsPromptLogits else { return 0..<0 }
        let lower = max(start, promptLogprobs.count), upper = min(start + count, promptTokenIDs.count - 1)
        return lower < upper ? lower..<upper : 0..<0
    }

    /// Extends `blockHashes` over every full block of the known tokens.
    func updateBlockHashes(blockSize: Int) {
        while (blockHashes.count + 1) * blockSize <= tokenIDs.count {
            let start = blockHashes.count * blockSize
            blockHashes.append(BlockHash(parent: blockHashes.last, tokens: tokenIDs[start..<(start + blockSize)], extraKey: cacheKey))
        }
    }
}
