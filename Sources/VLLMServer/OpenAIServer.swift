import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Builds the OpenAI-compatible HTTP application over a backend.
public enum OpenAIServer {
    /// Request bodies above this size are refused.
    static let maxBodyBytes = 64 << 20

    /// The router with every endpoint of shared/SPEC.md. The generating endpoints run their work cancelled by
    /// their client's disconnect (`Disconnection`).
    public static func router(_ server: ServerContext) -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: ErrorShapeMiddleware())
        router.add(middleware: CanonicalPathMiddleware())
        router.add(middleware: APIKeyMiddleware(keys: Set(server.configuration.apiKeys)))
        let info = InfoEndpoints(server: server)
        let completions = CompletionsEndpoint(server: server)
        let chat = ChatCompletionsEndpoint(server: server), responses = ResponsesEndpoint(server: server)
        router.get("/") { _, _ in ChatPage.response() }
        router.get("/health") { _, _ in try info.health() }
        router.get("/version") { _, _ in info.version() }
        router.get("/load") { _, _ in info.load() }
        router.get("/metrics") { _, _ in info.metrics() }
        router.get("/v1/models") { _, _ in info.models() }
        router.post("/v1/completions") { request, context in
            try await Disconnection.cancelling(on: context.channel) { try await completions.handle(fields(request)) }
        }
        router.post("/v1/chat/completions") { request, context in
            try await Disconnection.cancelling(on: context.channel) { try await chat.handle(fields(request)) }
        }
        router.post("/v1/responses") { request, context in
            try await Disconnection.cancelling(on: context.channel) { try await responses.handle(fields(request)) }
        }
        // Responses are not stored: retrieving, deleting or cancelling one finds nothing, in vLLM's words.
        router.get("/v1/responses/:id") { _, context in try ResponsesEndpoint.notStored(context.parameters.get("id")) }
        router.delete("/v1/responses/:id") { _, context in try ResponsesEndpoint.notStored(context.parameters.get("id")) }
        router.post("/v1/responses/:id/cancel") { _, context in try ResponsesEndpoint.notStored(context.parameters.get("id")) }
        let embeddings = EmbeddingsEndpoint(server: server), scoring = ScoringEndpoint(server: server)
        router.post("/v1/embeddings") { request, context in
            try await Disconnection.cancelling(on: context.channel) { try await embeddings.handle(fields(request)) }
        }
        for path in ["/score", "/v1/score"] {
            router.post(RouterPath(path)) { request, context in
                try await Disconnection.cancelling(on: context.channel) { try await scoring.score(fields(request)) }
            }
        }
        for path in ["/rerank", "/v1/rerank"] {
            router.post(RouterPath(path)) { request, context in
                try await Disconnection.cancelling(on: context.channel) { try await scoring.rerank(fields(request)) }
            }
        }
        router.post("/tokenize") { request, _ in try await info.tokenize(await fields(request)) }
        router.post("/detokenize") { request, _ in try await info.detokenize(await fields(request)) }
        return router
    }

    /// The application listening on the configured host and port, within the configured connection limits: idle
    /// and half-sent connections closed after the keep-alive timeout (Hummingbird's idle timeout counts from the last
    /// complete request part, so a request head sent a byte at a time does not reset it), and `ConnectionGuard`
    /// enforcing the connection cap. `onListening` runs once the socket accepts connections.
    public static func application(_ server: ServerContext, logger: Logger,
                                   onListening: @escaping @Sendable () -> Void = {}) -> some ApplicationProtocol {
        let limits = server.configuration.connections
        let registry = ConnectionRegistry(limits: limits)
        let seconds = limits.keepAliveTimeout.components
        let idle = TimeAmount.nanoseconds(seconds.seconds * 1_000_000_000 + seconds.attoseconds / 1_000_000_000)
        let http = HTTP1Channel.Configuration(additionalChannelHandlers: [ConnectionGuard(registry: registry)], idleTimeout: idle)
        return Application(router: router(server), server: .http1(configuration: http),
                           configuration: .init(address: .hostname(server.configuration.host, port: server.configuration.port), serverName: "swift-vllm"),
                           onServerRunning: { _ in onListening() }, logger: logger)
    }

    static func fields(_ request: Request) async throws -> RequestFields {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBodyBytes)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {  // NIOTooManyBytesError
            throw APIError(status: .contentTooLarge, message: "The request body is larger than \(maxBodyBytes) bytes.")
        } catch {
            // A malformed body (a bad chunk size, a connection cut mid-body) is the request's fault, not its size.
            throw APIError.invalid("The request body could not be read: \(error)")
        }
        var fields = try await WorkThreads.shared.run(size: buffer.readableBytes) { try RequestFields(body: Data(buffer.readableBytesView)) }
        fields.headerRequestID = request.headers.first { $0.name.canonicalName == "x-request-id" }?.value
        return fields
    }
}
