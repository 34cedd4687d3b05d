/// Errors a user can cause by pointing the engine at a missing, malformed or unsupported model file.
public struct ModelFormatError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, in words a user can act on.
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
