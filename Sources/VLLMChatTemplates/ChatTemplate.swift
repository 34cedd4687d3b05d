/// A compiled chat template: Jinja source as Hugging Face ships it, rendered as Python `jinja2` does under
/// transformers' settings (sandboxed, `trim_blocks`, `lstrip_blocks`, loop controls, `tojson`, `raise_exception`,
/// `strftime_now`).
///
/// Templates are untrusted (model files, `--chat-template`) and so is their input (clients' messages): parsing and
/// rendering run on the template threads within `limits`, and every failure, a limit included, is a thrown
/// `TemplateError`, never a crash.
public struct ChatTemplate: Sendable {
    /// A date for `strftime_now`.
    public typealias DateParts = (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int)

    /// The template source.
    public let source: String
    /// The sandbox's bounds for parsing and every render.
    public let limits: TemplateLimits
    let nodes: [Node]

    /// Parses `source`; a syntax error names its line and column.
    public init(_ source: String, limits: TemplateLimits = .default) throws {
        self.source = source
        self.limits = limits
        let deadline = ContinuousClock.now + limits.timeLimit
        do {
            nodes = try TemplateThreads.runBlocking {
                // jinja2's default keep_trailing_newline=False drops one trailing newline.
                var text = source
                if text.hasSuffix("\n") { text.removeLast() }
                var parser = try TemplateParser(source: text, budget: RenderBudget(limits: limits, deadline: deadline))
                return try parser.parse()
            }
        } catch let error as TemplateError where error.kind == .runtime {
            throw TemplateError(error.message, line: error.line, column: error.column, kind: .syntax)
        }
    }

    /// Renders with `context` as the template's variables (messages, tools, add_generation_prompt, bos_token, ...),
    /// blocking the calling thread while a template thread does it. From async code, prefer `render(date:context:)`.
    /// - Parameter date: the date `strftime_now` reports (default: now, UTC).
    public func render(_ context: [String: TemplateValue], date: DateParts? = nil) throws -> String {
        // The caller waits for the render and does not touch `context` meanwhile: handing it over is safe.
        nonisolated(unsafe) let context = context
        let deadline = ContinuousClock.now + limits.timeLimit
        return try TemplateThreads.runBlocking { [self] in
            try renderHere(context, date: date, deadline: deadline, cancellation: nil)
        }
    }

    /// Renders on the shared template threads without blocking the caller: `context` builds the variables there.
    /// Cancelling the calling task stops the render at its next check. Throws `TemplateError` of kind `.overloaded`
    /// when the threads stayed busy for the whole time limit.
    public func render(date: DateParts? = nil,
                       context: @escaping @Sendable () throws -> [String: TemplateValue]) async throws -> String {
        let deadline = ContinuousClock.now + limits.timeLimit
        let cancellation = RenderCancellation()
        return try await TemplateThreads.shared.run(cancellation: cancellation) { [self] in
            try renderHere(try context(), date: date, deadline: deadline, cancellation: cancellation)
        }
    }

    /// Renders on the current thread (a template thread).
    private func renderHere(_ context: [String: TemplateValue], date: DateParts?, deadline: ContinuousClock.Instant,
                            cancellation: RenderCancellation?) throws -> String {
        guard ContinuousClock.now < deadline else {
            throw TemplateError("no template thread was free within the time limit of \(limits.timeLimit)", kind: .overloaded)
        }
        let budget = RenderBudget(limits: limits, deadline: deadline, cancellation: cancellation)
        let renderer = TemplateRenderer(context: context, budget: budget, now: { date ?? ChatTemplate.currentDate() })
        defer { renderer.releaseScopes() }
        var out = ""
        _ = try renderer.execute(nodes, into: &out)
        return out
    }

    static func currentDate() -> DateParts {
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        return (Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
