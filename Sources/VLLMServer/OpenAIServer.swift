import Foundation
import Hummingbird
import Logging

/// Builds the OpenAI-compatible HTTP application over a backend.
public enum OpenAIServer {
    /// Request bodies above this size are refused.
    static let maxBodyBytes = 64 << 20

    /// The router with every endpoint of shared/SPEC.md.
    public static func router(_ server: ServerContext) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorShapeMiddleware())
        router.add(middleware: CanonicalPathMiddleware())
        router.add(middleware: APIKeyMiddleware(keys: Set(server.configuration.apiKeys)))
        let info = InfoEndpoints(server: server)
        let completions = CompletionsEndpoint(server: server)
        let chat = ChatCompletionsEndpoint(server: server)
        router.get("/health") { _, _ in try info.health() }
        router.get("/version") { _, _ in info.version() }
        router.get("/load") { _, _ in info.load() }
        router.get("/metrics") { _, _ in info.metrics() }
        router.get("/v1/models") { _, _ in info.models() }
        router.post("/v1/completions") { request, _ in try await completions.handle(fields(request)) }
        router.post("/v1/chat/completions") { request, _ in try await chat.handle(fields(request)) }
        router.post("/tokenize") { request, _ in try await info.tokenize(await fields(request)) }
        router.post("/detokenize") { request, _ in try info.detokenize(await fields(request)) }
        return router
    }

    /// The application listening on the configured host and port.
    public static func application(_ server: ServerContext, logger: Logger) -> some ApplicationProtocol {
        Application(router: router(server),
                    configuration: .init(address: .hostname(server.configuration.host, port: server.configuration.port), serverName: "swift-vllm"),
                    logger: logger)
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
        return try RequestFields(body: Data(buffer.readableBytesView))
    }
}
