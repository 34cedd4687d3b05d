/// Why a constraint cannot be compiled: a syntax error (with its position) or a feature the engine does not support.
/// The server answers it as an HTTP 400 with `description` as the message.
public struct GrammarError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A human-readable message naming the unsupported feature or the syntax error and its position.
    public let description: String

    /// Makes an error with the given message.
    public init(_ description: String) { self.description = description }
}
