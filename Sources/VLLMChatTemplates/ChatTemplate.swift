/// A compiled chat template: Jinja source as Hugging Face ships it, rendered as Python `jinja2` does under
/// transformers' settings (sandboxed, `trim_blocks`, `lstrip_blocks`, loop controls, `tojson`, `raise_exception`,
/// `strftime_now`).
public struct ChatTemplate: Sendable {
    /// The template source.
    public let source: String
    let nodes: [Node]

    /// Parses `source`; a syntax error names its line and column.
    public init(_ source: String) throws {
        self.source = source
        // jinja2's default keep_trailing_newline=False drops one trailing newline.
        var text = source
        if text.hasSuffix("\n") { text.removeLast() }
        var parser = try TemplateParser(source: text)
        nodes = try parser.parse()
    }

    /// Renders with `context` as the template's variables (messages, tools, add_generation_prompt, bos_token, ...).
    /// - Parameter date: the date `strftime_now` reports (default: now, UTC).
    public func render(_ context: [String: TemplateValue],
                       date: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int)? = nil) throws -> String {
        let renderer = TemplateRenderer(context: context, now: { date ?? ChatTemplate.currentDate() })
        var out = ""
        _ = try renderer.execute(nodes, into: &out)
        return out
    }

    static func currentDate() -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
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
