/// An error a user can cause at the engine level (bad model, prompt too long, ...), with a clear message.
public struct EngineError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String

    public init(_ message: String) { self.message = message }

    /// The engine stopped (or is draining) before the request could finish; the server answers 503.
    public static let shuttingDown = EngineError("the engine is shutting down")

    public var description: String { message }
}
