/// An error a user can cause at the engine level (bad model, prompt too long, ...), with a clear message.
public struct EngineError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
