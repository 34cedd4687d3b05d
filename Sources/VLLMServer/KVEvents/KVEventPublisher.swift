import Synchronization
import VLLMEngine

/// Publishes the engine's prefix-cache changes over ZeroMQ as vLLM does (`--kv-events-config`), one message per
/// engine step that changed the cache, so that a router (`vllm-router --policy kv_aware`, Dynamo, llm-d) can send
/// each request to the replica that holds most of its prefix.
public final class KVEventPublisher: Sendable {
    private let socket: ZMTPPublisher
    private let encoder: Mutex<KVEventBatchEncoder>

    private init(socket: ZMTPPublisher, topic: String) {
        self.socket = socket
        encoder = Mutex(KVEventBatchEncoder(topic: topic))
    }

    /// Binds the configured endpoint.
    public static func start(_ configuration: KVEventsConfiguration) async throws -> KVEventPublisher {
        let (host, port) = try configuration.hostAndPort()
        let socket = try await ZMTPPublisher.bind(host: host, port: port, highWaterMark: configuration.highWaterMark)
        return KVEventPublisher(socket: socket, topic: configuration.topic)
    }

    /// The port bound (the configured one, or the system's pick for port 0).
    public var port: Int { socket.port }

    /// Encodes and sends one step's events (called on the engine thread; sending happens on the socket's thread).
    public func publish(_ events: [KVCacheEvent]) {
        let frames = encoder.withLock { $0.frames(events) }
        socket.publish(frames)
    }

    public func close() async { await socket.close() }
}
