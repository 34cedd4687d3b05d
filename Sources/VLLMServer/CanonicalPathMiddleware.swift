import Hummingbird

/// Refuses, with 404, request paths that are not in canonical form: a doubled or trailing slash (`//v1/completions`,
/// `/v1//completions`), a `.` or `..` segment, no leading slash, or an encoded slash, backslash or dot.
///
/// Hummingbird's router skips empty path segments, so `//v1/completions` would reach the `/v1/completions` route
/// while a check of the raw path's prefix (`/v1`) saw something else: with `--api-key` that answered without a key.
/// vLLM (Starlette) matches whole paths and answers 404 for these forms; so do we, before authentication and routing
/// see them.
struct CanonicalPathMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard Self.isCanonical(path) else {
            throw APIError(status: .notFound, message: "Not found: \(request.method) \(path)")
        }
        return try await next(request, context)
    }

    static func isCanonical(_ path: String) -> Bool {
        guard path.hasPrefix("/") else { return false }
        if path == "/" { return true }
        for segment in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty || segment == "." || segment == ".." { return false }
        }
        let lowered = path.lowercased()
        return !["%2f", "%5c", "%2e"].contains { lowered.contains($0) }
    }
}
