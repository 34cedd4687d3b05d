extension AsyncEngine {
    /// A consistent view of the engine's state, refreshed after every step (for /metrics, /load, the stats
    /// log line and admission control).
    public struct Snapshot: Sendable {
        public var running = 0
        /// Requests waiting to be scheduled, counting those submitted but not yet taken in by the loop, so a
        /// burst between two steps is seen at once.
        public var waiting = 0
        /// Fraction of KV blocks referenced by requests (0...1); freed blocks still in the prefix cache count as free.
        public var kvCacheUsage = 0.0
        public var preemptions = 0
        public var prefixQueryTokens = 0
        public var prefixHitTokens = 0
        /// Engine steps that computed tokens.
        public var steps = 0
        public var promptTokens = 0
        public var generationTokens = 0
        /// False once the loop has stopped.
        public var isAlive = true
        /// False once a drain or shutdown has begun: new requests are refused.
        public var isAcceptingRequests = true

        public init() {}
    }
}
