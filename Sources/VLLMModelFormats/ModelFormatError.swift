/// Errors a user can cause by pointing the engine at a missing, malformed or unsupported model file.
public struct ModelFormatError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, in words a user can act on.
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

extension ModelFormatError {
    /// A JSON decoding error in words, naming the key path but never quoting the file's bytes (Foundation's text
    /// for invalid JSON quotes the character where parsing stopped, and the file may not be JSON at all).
    static func describe(_ error: any Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error as? DecodingError {
        case .typeMismatch(let type, let context)?: return "'\(path(context))' must be \(type)"
        case .valueNotFound(let type, let context)?: return "'\(path(context))' must be \(type), not null"
        case .keyNotFound(let key, let context)?:
            return "'\(key.stringValue)' is missing" + (context.codingPath.isEmpty ? "" : " in '\(path(context))'")
        case .dataCorrupted(let context)? where !context.codingPath.isEmpty:
            return "'\(path(context))': \(context.debugDescription)"
        case .dataCorrupted?: return "it is not valid JSON"
        default: return "it could not be decoded"
        }
    }
}
