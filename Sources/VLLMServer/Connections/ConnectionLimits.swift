#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many connections the server holds and for how long. A flood of idle or slow connections must neither
/// exhaust the process's file descriptors nor keep `/health` and real requests out.
public struct ConnectionLimits: Sendable, Equatable {
    /// vLLM's `VLLM_HTTP_TIMEOUT_KEEP_ALIVE` (uvicorn's `timeout_keep_alive`), 5 s: a connection with no request in
    /// progress is closed after this long without a complete request head. This bounds idle keep-alive connections
    /// and the header read alike (a slowloris client sending headers a byte at a time is closed after it).
    public var keepAliveTimeout: Duration = .seconds(5)
    /// `--limit-concurrency` / `VLLM_MAX_CONNECTIONS`: connections served normally. A new connection beyond it first
    /// closes the connection idle the longest; when every one has a request in progress, the newcomer's requests get
    /// 503 in OpenAI's error shape, except `/health`, which is always answered.
    public var maxConnections: Int = 4096
    /// Connections held at most, the overflow ones (503 or `/health` only) included: beyond it a new connection is
    /// closed at once, so the file descriptors the model files and the engine need stay free.
    public var maxOpenConnections: Int = 4096 + 1024

    /// File descriptors kept back from connections: model files and shards, logs, the event loops' own.
    public static let reservedFileDescriptors = 256

    public init() {}

    /// Limits within `fileLimit` descriptors (the process's `RLIMIT_NOFILE`): connections may hold all but
    /// `reservedFileDescriptors` of them; by default three quarters are served normally, the rest are overflow.
    /// An explicit `maxConnections` leaves overflow room of a quarter of it (at least 64), within the same bound.
    public init(fileLimit: Int, maxConnections: Int? = nil, keepAliveTimeout: Duration = .seconds(5)) {
        let budget = max(16, fileLimit - Self.reservedFileDescriptors)
        let served = min(budget, max(1, maxConnections ?? budget * 3 / 4))
        self.keepAliveTimeout = keepAliveTimeout
        self.maxConnections = served
        self.maxOpenConnections = min(budget, served + max(64, served / 4))
    }

    /// Raises the soft `RLIMIT_NOFILE` to the hard limit (as uvicorn deployments and vLLM's `set_ulimit` do) and
    /// returns the soft limit in force afterwards.
    public static func raiseFileLimit() -> Int {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        let infinity = rlim_t.max  // RLIM_INFINITY, a C cast Swift does not import
        #else
        let resource = RLIMIT_NOFILE
        let infinity = RLIM_INFINITY
        #endif
        guard getrlimit(resource, &limit) == 0 else { return 1024 }
        // An unlimited hard limit (macOS) is not a usable soft limit: a million is plenty.
        let target = limit.rlim_max == infinity ? min(limit.rlim_max, 1 << 20) : limit.rlim_max
        if limit.rlim_cur < target {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur == infinity ? 1 << 20 : Int(clamping: limit.rlim_cur)
    }
}
