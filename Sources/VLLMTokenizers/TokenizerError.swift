/// Errors raised while loading a tokenizer.
public enum TokenizerError: Error, CustomStringConvertible, Sendable {
    case missingField(String)
    case unsupported(String)
    case invalidRegex(String)
    case malformed(String)

    public var description: String {
        switch self {
        case let .missingField(name): "tokenizer: missing \(name)"
        case let .unsupported(what): "tokenizer: unsupported \(what)"
        case let .invalidRegex(message): "tokenizer: invalid pre-tokenizer regex: \(message)"
        case let .malformed(message): "tokenizer: \(message)"
        }
    }
}
