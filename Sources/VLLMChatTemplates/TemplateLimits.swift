/// The sandbox's bounds on one template: templates come from model files and `--chat-template`, and their input
/// from clients, so neither may take the process down (stack overflow, integer trap, allocation failure) or hold a
/// thread without end. Exceeding a bound is a `TemplateError` of kind `.limit`.
///
/// The defaults admit everything Python jinja2's `ImmutableSandboxedEnvironment` (what transformers and vLLM render
/// with) renders in practice: jinja2 has `MAX_RANGE = 100000` and otherwise inherits Python's recursion limit of
/// 1000 frames (about 197 nested macro calls, 69 nested parentheses, 98 nested `if` blocks, 990 nested lists when
/// printed); it has no bound on time, string sizes or loop iterations, which we add.
public struct TemplateLimits: Sendable {
    /// Nested parentheses, brackets, operator chains and blocks in the source.
    public var maxParseDepth = 200
    /// Nested evaluation while rendering: every expression and statement level, counted across macro calls (a
    /// recursive macro of a few levels a call reaches `maxCallDepth` first). The template threads' stack holds
    /// several times this many levels, in debug builds too.
    public var maxNestingDepth = 1_500
    /// Nested macro calls (recursion), `caller()` included. jinja2 manages about 197.
    public var maxCallDepth = 200
    /// Loop iterations over the whole render.
    public var maxLoopIterations = 1_000_000
    /// Items of one `range(...)`: jinja2's sandbox `MAX_RANGE`.
    public var maxRangeLength = 100_000
    /// UTF-8 bytes of any string a template builds, the output included. A chat prompt this long is far beyond any
    /// model's context (about 4 bytes a token).
    public var maxStringBytes = 16 << 20
    /// Items of any list a template builds.
    public var maxListLength = 1 << 20
    /// Nesting of lists, dicts and namespaces a template builds (values printed or serialised recursively).
    public var maxValueDepth = 1_000
    /// Bytes of strings and lists built over the whole render: bounds memory and work together.
    public var maxAllocatedBytes = 256 << 20
    /// Wall time of one parse or render, waiting for a template thread included.
    public var timeLimit: Duration = .seconds(10)

    public init() {}

    /// The defaults above.
    public static let `default` = TemplateLimits()
}
