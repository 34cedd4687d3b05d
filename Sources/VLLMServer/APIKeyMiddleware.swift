import Hummingbird

/// With API keys configured, `/v1/*` needs `Authorization: Bearer KEY`; health, metrics and the rest stay open.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !keys.isEmpty, Self.isProtected(request.uri.path) else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), keys.contains(String(header.dropFirst(prefix.count))) else {
            throw APIError(status: .unauthorized, message: header.isEmpty ? "Missing API key: send 'Authorization: Bearer KEY'." : "Invalid API key.",
                           type: "authentication_error")
        }
        return try await next(request, context)
    }

    /// Whether `path` leads to a `/v1` route. Decided on the path's segments as the router splits them (empty
    /// segments skipped), not on the raw text, so that no spelling of a path reaches a `/v1` route unguarded even
    /// if `CanonicalPathMiddleware` let it through; case-insensitively, in case routing ever becomes so.
    static func isProtected(_ path: String) -> Bool {
        guard let first = path.split(separator: "/").first else { return false }
        return first.lowercased().hasPrefix("v1")
    }
}
