/// Expressions of the template language.
indirect enum Expr: Sendable {
    case literal(Literal)
    case name(String)
    case list([Expr])
    case dict([(Expr, Expr)])
    case attribute(Expr, String)
    case item(Expr, Expr)
    case slice(Expr, Expr?, Expr?, Expr?)
    case call(Expr, [Expr], [(String, Expr)])
    case filter(Expr, String, [Expr], [(String, Expr)])
    case test(Expr, String, [Expr], negated: Bool)
    case unary(String, Expr)
    case binary(String, Expr, Expr)
    case conditional(Expr, then: Expr, otherwise: Expr?)
}

/// A constant in the source.
enum Literal: Sendable {
    case none, bool(Bool), int(Int), double(Double), string(String)
}

/// Where `set` and `for` bind values.
enum Target: Sendable {
    case name(String)
    case names([String])
    case attribute(String, String)
}

/// Statements and text of a parsed template.
indirect enum Node: Sendable {
    case text(String)
    case output(Expr, SourceLocation)
    case conditional([(Expr, [Node])], otherwise: [Node], SourceLocation)
    case loop(Target, Expr, filter: Expr?, body: [Node], otherwise: [Node], SourceLocation)
    case assign(Target, Expr, SourceLocation)
    case blockAssign(Target, filters: [(String, [Expr], [(String, Expr)])], body: [Node], SourceLocation)
    case macro(String, [(String, Expr?)], body: [Node])
    case callBlock(Expr, [(String, Expr?)], body: [Node], SourceLocation)
    case filterBlock([(String, [Expr], [(String, Expr)])], body: [Node], SourceLocation)
    case breakLoop
    case continueLoop
    case expression(Expr, SourceLocation)
}
