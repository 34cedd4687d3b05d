import Hummingbird

/// Renders errors that did not come from our endpoints (unknown route, wrong method, framework errors)
/// in OpenAI's error shape; our own `APIError`s already are.
struct ErrorShapeMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            let message = error.status == .notFound ? "Not found: \(request.method) \(request.uri.path)" : (error.body ?? "\(error.status)")
            throw APIError(status: error.status, message: message)
        }
    }
}
