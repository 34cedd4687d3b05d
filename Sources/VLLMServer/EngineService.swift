import Logging
import ServiceLifecycle
import VLLMEngine

/// The engine as a swift-service-lifecycle service. On graceful shutdown (SIGINT or SIGTERM) it stops taking
/// requests (new ones get 503, `/health` too), gives those in flight up to `drainTimeout` to finish (vLLM's
/// `--shutdown-timeout`; 0 aborts them at once, their clients get a 503 error), then stops the engine loop.
/// Listed after the HTTP application in a `ServiceGroup`, it is shut down before it, so the server's own
/// graceful shutdown finds no request still generating.
public struct EngineService: Service, CustomStringConvertible {
    public let engine: AsyncEngine
    public let drainTimeout: Duration
    let logger: Logger

    /// - Parameters:
    ///   - drainTimeout: how long requests in flight may keep running once shutdown begins (0: abort them at once)
    ///   - logger: where the shutdown is reported
    public init(engine: AsyncEngine, drainTimeout: Duration, logger: Logger) {
        self.engine = engine
        self.drainTimeout = drainTimeout
        self.logger = logger
    }

    /// Short, since ServiceGroup logs it.
    public var description: String { "EngineService(drain up to \(drainTimeout))" }

    /// Waits for graceful shutdown, then drains and stops the engine.
    public func run() async throws {
        // Returns when graceful shutdown begins; throws if the group is cancelled instead (then drain at once).
        try? await gracefulShutdown()
        let s = engine.snapshot
        let inFlight = s.running + s.waiting
        if inFlight > 0 {
            let plan = drainTimeout == .zero ? "aborting them (--shutdown-timeout 0)" : "giving them up to \(drainTimeout) to finish (--shutdown-timeout)"
            logger.info("Shutting down with \(inFlight) requests in flight: \(plan).")
        }
        await engine.drain(timeout: drainTimeout)
        logger.info("Engine stopped.")
    }
}
