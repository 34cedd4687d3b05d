/// An error in a chat template: a syntax error found while parsing, or a failure while rendering
/// (including the template's own `raise_exception` and the sandbox's limits). Carries the line and column in the
/// template source.
public struct TemplateError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, so that a server can tell the client's fault from its own.
    public enum Kind: Sendable, Equatable {
        /// The source does not parse.
        case syntax
        /// The template called `raise_exception`: it refuses its input (e.g. "roles must alternate").
        case raised
        /// An error while rendering: an undefined name, a wrong type, division by zero...
        case runtime
        /// A sandbox limit (`TemplateLimits`): time, recursion, loop iterations, sizes, integer range.
        case limit
        /// Every template thread was busy for longer than the time limit, or too many renders were waiting.
        case overloaded
    }

    public let message: String
    public let line: Int
    public let column: Int
    public let kind: Kind

    public init(_ message: String, line: Int = 0, column: Int = 0, kind: Kind = .runtime) {
        self.message = message
        self.line = line
        self.column = column
        self.kind = kind
    }

    /// A sandbox limit was exceeded.
    static func limit(_ message: String) -> TemplateError { TemplateError(message, kind: .limit) }

    /// The same error at `line`, `column`.
    func located(line: Int, column: Int) -> TemplateError {
        TemplateError(message, line: line, column: column, kind: kind)
    }

    public var description: String {
        line > 0 ? "chat template error at line \(line), column \(column): \(message)" : "chat template error: \(message)"
    }
}

/// A position in the template source.
struct SourceLocation: Sendable {
    var line: Int
    var column: Int
}
