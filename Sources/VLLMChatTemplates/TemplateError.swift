/// An error in a chat template: a syntax error found while parsing, or a failure while rendering
/// (including the template's own `raise_exception`). Carries the line and column in the template source.
public struct TemplateError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let line: Int
    public let column: Int

    public init(_ message: String, line: Int = 0, column: Int = 0) {
        self.message = message
        self.line = line
        self.column = column
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
