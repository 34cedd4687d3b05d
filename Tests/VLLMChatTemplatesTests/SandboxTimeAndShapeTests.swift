import Foundation
import OrderedCollections
import Testing
import VLLMChatTemplates

/// The sandbox's time limit, cancellation, parse depth and value nesting (see `SandboxTests`). Serialized: the slow
/// renders here would otherwise wait for each other on the template threads, and the timings measure waiting too.
@Suite(.serialized)
struct SandboxTimeAndShapeTests {
    /// 100,000 iterations of scanning 100 KB: about ten seconds of work, with no allocation to stop it earlier.
    static let slow = "{% for i in range(100000) %}{% if 'b' in big %}b{% endif %}{% endfor %}"
    static var big: [String: TemplateValue] { ["big": .string(String(repeating: "a", count: 100_000))] }

    @Test func aRenderPastItsTimeLimitEndsWithAnError() {
        var limits = TemplateLimits()
        limits.timeLimit = .milliseconds(300)
        let start = ContinuousClock.now
        SandboxTests.expectLimit(Self.slow, "time limit", Self.big, limits: limits)
        #expect(ContinuousClock.now - start < .seconds(3))
    }

    @Test func cancellingTheAwaitingTaskStopsTheRender() async throws {
        var limits = TemplateLimits()
        limits.timeLimit = .seconds(60)
        let template = try ChatTemplate(Self.slow, limits: limits)
        let big = String(repeating: "a", count: 100_000)
        let task = Task { try await template.render { ["big": .string(big)] } }
        try await Task.sleep(for: .milliseconds(200))
        let cancelled = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(throws: TemplateError.self) { try result.get() }
        // Stopped by the cancellation, long before the 60 s limit (a loaded machine's scheduling, not a timing claim).
        #expect(ContinuousClock.now - cancelled < .seconds(30), "the render stopped at its next clock check, not after 60 s")
    }

    /// Deep source would overflow the stack of the recursive-descent parser (and of releasing its tree).
    @Test(arguments: [
        "{{ " + String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000) + " }}",
        "{{ " + String(repeating: "[", count: 10_000) + "1" + String(repeating: "]", count: 10_000) + " }}",
        "{{ " + String(repeating: "1 + ", count: 100_000) + "1 }}",
        "{{ 'x'" + String(repeating: "|upper", count: 10_000) + " }}",
        "{{ " + String(repeating: "not ", count: 10_000) + "x }}",
        "{{ " + String(repeating: "- ", count: 10_000) + "1 }}",
        "{{ x" + String(repeating: ".a", count: 10_000) + " }}",
        String(repeating: "{% if true %}", count: 10_000) + "x" + String(repeating: "{% endif %}", count: 10_000),
    ])
    func deepSourceIsASyntaxLimitNotAStackOverflow(_ source: String) {
        #expect { try ChatTemplate(source) } throws: { error in
            (error as? TemplateError)?.kind == .limit && "\(error)".contains("nested deeper than 200")
        }
    }

    @Test func moderatelyDeepSourceStillParses() throws {
        // jinja2 parses up to 69 nested parentheses and 98 nested `if` blocks.
        let parens = "{{ " + String(repeating: "(", count: 60) + "1" + String(repeating: ")", count: 60) + " }}"
        #expect(try ChatTemplate(parens).render([:]) == "1")
        let ifs = String(repeating: "{% if true %}", count: 90) + "x" + String(repeating: "{% endif %}", count: 90)
        #expect(try ChatTemplate(ifs).render([:]) == "x")
    }

    @Test func aNamespaceCannotContainItself() {
        // jinja2 prints `<Namespace {'s': <Namespace {...}>}>`; a cycle would make printing and tojson endless here.
        for source in ["{% set ns = namespace() %}{% set ns.s = ns %}{{ ns }}",
                       "{% set a = namespace() %}{% set b = namespace(x=a) %}{% set a.y = [b] %}{{ a }}"] {
            let e = SandboxTests.error(source)
            #expect(e?.message.contains("cannot contain itself") == true, "\(source): \(String(describing: e))")
        }
    }

    @Test func sharedStructureCannotMakeWorkExplode() {
        // 60 doublings of a list that holds itself twice: 2^60 items to visit. The work is counted, the clock stops it.
        var limits = TemplateLimits()
        limits.timeLimit = .seconds(1)
        SandboxTests.expectLimit("{% set ns = namespace(x=1) %}{% for i in range(60) %}{% set ns.x = [ns.x, ns.x] %}{% endfor %}{{ ns.x }}",
                                 "time limit", limits: limits)
    }

    @Test func deeplyNestedInputIsRefusedWhenTraversed() throws {
        var value = TemplateValue.int(1)
        for _ in 0..<2_500 { value = .array([value]) }
        let template = try ChatTemplate("{{ messages }}")
        #expect(throws: TemplateError.self) { try template.render(["messages": value]) }
        #expect(throws: TemplateError.self) { try ChatTemplate("{{ messages|tojson }}").render(["messages": value]) }
        #expect(throws: TemplateError.self) { try ChatTemplate("{{ messages == messages }}").render(["messages": value]) }
    }

    @Test(arguments: ["{{ [1].append(2) }}", "{% set d = {} %}{{ d.update({}) }}", "{{ {'a': 1}.pop('a') }}", "{{ [3, 1].sort() }}"])
    func mutatingMethodsAreRefused(_ source: String) {
        // jinja2: SecurityError "access to attribute 'append' of 'list' object is unsafe."
        let e = SandboxTests.error(source)
        #expect(e?.message.contains("is unsafe") == true, "\(source): \(String(describing: e))")
    }

    @Test func templatesStillRenderAfterLimitErrors() throws {
        SandboxTests.expectLimit("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "macro calls")
        let template = try ChatTemplate("{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}")
        let messages: TemplateValue = .array([.object(["role": .string("user"), "content": .string("hi")])])
        #expect(try template.render(["messages": messages]) == "user:hi;")
    }
}
