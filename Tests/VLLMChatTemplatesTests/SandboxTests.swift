import Foundation
import OrderedCollections
import Testing
import VLLMChatTemplates

/// The sandbox: a template (model file, `--chat-template`) and the messages clients send it must never take the
/// process down or hold a thread without end. Before the limits, each case here trapped (integer overflow, a
/// Double-to-Int conversion, a negative or huge `String(repeating:)` count), overflowed the stack, or ran away in
/// time or memory. Where jinja2's `ImmutableSandboxedEnvironment` answers in 64 bits, its answer is checked in the
/// features fixture (the `sandbox_*` cases of tools/gen-template-fixtures.py); the cases here are those jinja2
/// answers with an integer beyond 64 bits (noted beside each), only after exhausting memory, or not at all.
struct SandboxTests {
    /// The error rendering `source` throws (nil, and an issue, when it renders).
    static func error(_ source: String, _ context: [String: TemplateValue] = [:], limits: TemplateLimits = .default) -> TemplateError? {
        do {
            let text = try ChatTemplate(source, limits: limits).render(context)
            Issue.record("rendered \(text.utf8.count) bytes, expected an error: \(source.prefix(120))")
        } catch let error as TemplateError {
            return error
        } catch {
            Issue.record("not a TemplateError: \(error)")
        }
        return nil
    }

    /// Expects a limit error naming `phrase`.
    static func expectLimit(_ source: String, _ phrase: String, _ context: [String: TemplateValue] = [:], limits: TemplateLimits = .default,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let e = error(source, context, limits: limits)
        #expect(e?.kind == .limit, "\(source.prefix(120)): \(String(describing: e))", sourceLocation: sourceLocation)
        #expect(e?.message.contains(phrase) == true, "\(source.prefix(120)): \(String(describing: e))", sourceLocation: sourceLocation)
    }

    @Test func endlessMacroRecursionIsAnErrorNotAStackOverflow() throws {
        Self.expectLimit("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "macro calls nested deeper than 200")
        // jinja2 manages 197 nested calls before Python's recursion limit; ours stop at 200.
        let countdown = "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{% endmacro %}[{{ f(N) }}]"
        #expect(try ChatTemplate(countdown).render(["N": .int(199)]) == "[]")
        Self.expectLimit(countdown, "macro calls nested deeper than 200", ["N": .int(200)])
    }

    /// Recursion through macros with deep bodies of each kind of nesting: the nesting limit (1,500 levels of
    /// evaluation) or the call limit must come before the template thread's stack runs out, in debug builds too.
    @Test(arguments: [
        String(repeating: "(", count: 40) + "f(n - 1)" + String(repeating: " ~ '')", count: 40),
        "f(n - 1)" + String(repeating: "|trim", count: 40),
        "g(" + String(repeating: "g(", count: 20) + "f(n - 1)" + String(repeating: ")", count: 21),
        String(repeating: "(1 if ", count: 40) + "f(n - 1)" + String(repeating: " else 2)", count: 40),
        String(repeating: "not ", count: 40) + "f(n - 1)",
    ])
    func deepEvaluationAcrossMacrosStopsAtALimit(_ body: String) {
        let source = "{% macro g(x) %}{{ x }}{% endmacro %}{% macro f(n) %}{% if n > 0 %}{{ \(body) }}{% endif %}{% endmacro %}{{ f(190) }}"
        let e = Self.error(source)
        #expect(e?.kind == .limit, "\(String(describing: e))")
    }

    @Test(arguments: ["if true", "for i in [1]", "filter trim", "set x"])
    func deepBlocksAcrossMacrosStopAtALimit(_ block: String) {
        let tag = String(block.prefix { $0 != " " })
        let body = String(repeating: "{% \(block) %}", count: 40) + "{{ f(n - 1) }}" + String(repeating: "{% end\(tag) %}", count: 40)
        let e = Self.error("{% macro f(n) %}{% if n > 0 %}\(body){% endif %}{% endmacro %}{{ f(190) }}")
        #expect(e?.kind == .limit, "\(String(describing: e))")
    }

    /// Python's integers have no size; results beyond 64 bits are errors here (jinja2's answer in the comment).
    @Test(arguments: [
        "{{ (2**62) * 4 }}",  // 18446744073709551616
        "{{ messages[10**20] }}",  // jinja2 computes 10**20, then the index is out of range: ''
        "{{ 2 ** 64 }}",
        "{{ 9223372036854775807 + 1 }}",
        "{{ -9223372036854775807 - 2 }}",
        "{{ -(-9223372036854775807 - 1) }}",  // 9223372036854775808
        "{{ (-9223372036854775807 - 1) // -1 }}",
        "{{ (-9223372036854775807 - 1)|abs }}",
        "{{ 1e300|int }}",  // 10000000000000000525047602552044202487044685811081591549158541072300...
        "{{ '99999999999999999999'|int }}",
        "{{ '%d' % 1e300 }}",
        "{{ '%.0f' % 1e300 }}",
    ])
    func integerOverflowIsAnError(_ source: String) {
        Self.expectLimit(source, "integer overflow", ["messages": .array([.int(1)])])
    }

    @Test func nonFiniteConversionsAreErrorsOrDefaults() throws {
        // jinja2, with x = inf and y = nan: `'%d' % y` is "ValueError: cannot convert float NaN to integer",
        // `x|int` is "OverflowError: cannot convert float infinity to integer", `y|int(7)` is 7.
        let values: [String: TemplateValue] = ["x": .double(.infinity), "y": .double(.nan)]
        #expect(Self.error("{{ '%d' % y }}", values)?.message.contains("cannot convert float NaN") == true)
        #expect(Self.error("{{ x|int }}", values)?.message.contains("cannot convert float infinity") == true)
        #expect(try ChatTemplate("{{ y|int(7) }}").render(values) == "7")
        #expect(throws: TemplateError.self) { try ChatTemplate("{{ 99999999999999999999 }}") }
    }

    /// Widths and repetitions that would allocate terabytes (jinja2: MemoryError, after trying).
    @Test(arguments: [
        "{{ 'x'|indent(1000000000000) }}",
        "{{ 'x'|center(1000000000000) }}",
        "{{ 'x' * 1000000000000 }}",
        "{{ 'xy' * 9223372036854775807 }}",
        "{{ [0] * 1000000000000 }}",
        "{{ [0, 0] * 9223372036854775807 }}",
        "{{ '%1000000000000d' % 1 }}",
        "{{ [1]|tojson(indent=1000000000000) }}",
        "{{ [[1]]|tojson(indent=4611686018427387904) }}",
        "{{ '%.1000000000f' % 1.5 }}",
    ])
    func hugeWidthsAndRepetitionsAreErrors(_ source: String) {
        let e = Self.error(source)
        #expect(e?.kind == .limit, "\(source): \(String(describing: e))")
    }

    @Test func aNegativeFormatPrecisionIsAnError() {
        // Python: "ValueError: unsupported format character '-'"; the interpreter once trapped in prefix(-5).
        #expect(Self.error("{{ '%.-5f' % 1.5 }}") != nil)
    }

    @Test func errorsSayWhoseFaultTheyAre() {
        #expect { try ChatTemplate("{{ x + }}") } throws: { ($0 as? TemplateError)?.kind == .syntax }
        #expect(Self.error("{{ raise_exception('no system message') }}")?.kind == .raised)
        #expect(Self.error("{{ 1 // 0 }}")?.kind == .runtime)
        #expect(Self.error("{{ 2 ** 64 }}")?.kind == .limit)
    }

    @Test func rangeIsCappedAtJinja2MaxRange() {
        let start = ContinuousClock.now
        Self.expectLimit("{% for i in range(10**9) %}x{% endfor %}", "MAX_RANGE (100000)")
        #expect(ContinuousClock.now - start < .seconds(2), "refused before building the list")
    }

    /// Output and strings that grow past 16 MiB, directly or by printing a list of one shared big string many times.
    @Test(arguments: [
        "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
        "{{ ['x' * 1000000] * 1000 }}",
        "{{ (['x' * 1000000] * 1000)|tojson }}",
        "{{ (['x' * 1000000] * 1000)|join }}",
        "{{ ('x' * 100000).replace('x', 'y' * 1000) }}",
        "{{ ('{0}' * 100000).format('x' * 1000) }}",
        "{% set s = 'x' * 1000000 %}{% set ns = namespace(s=s) %}{% for i in range(30) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    ])
    func outputAndStringsAreBounded(_ source: String) {
        let e = Self.error(source)
        #expect(e?.kind == .limit, "\(source): \(String(describing: e))")
        #expect(e?.message.contains("larger than the sandbox allows") == true, "\(source): \(String(describing: e))")
    }

    @Test func allocationOverTheWholeRenderIsBounded() {
        // Each string is under 16 MiB, but 1,000 of them kept in a list are a gigabyte.
        Self.expectLimit("{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = ns.l + ['x' * 1000000 ~ i] %}{% endfor %}",
                         "built more than")
    }

    @Test func loopIterationsAreCounted() {
        var limits = TemplateLimits()
        limits.maxLoopIterations = 10_000
        Self.expectLimit("{% for i in range(100) %}{% for j in range(200) %}{% endfor %}{% endfor %}", "more than 10000 loop iterations",
                         limits: limits)
    }
}
