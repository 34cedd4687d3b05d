import Hummingbird

/// With API keys configured, `/v1/*` needs `Authorization: Bearer KEY`; health, metrics and the rest stay open.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !keys.isEmpty, request.uri.path.hasPrefix("/v1") else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), keys.contains(String(header.dropFirst(prefix.count))) else {
            throw APIError(status: .unauthorized, message: header.isEmpty ? "Missing API key: send 'Authorization: Bearer KEY'." : "Invalid API key.",
                           type: "authentication_error")
        }
        return try await next(request, context)
    }
}
