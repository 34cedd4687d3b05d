import Foundation
import Testing
import VLLMChatTemplates

/// Templates rendered by Python jinja2 under transformers' settings (tools/gen-template-fixtures.py) must render
/// byte for byte the same here.
struct Jinja2ReferenceTests {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    static var cache: String { ProcessInfo.processInfo.environment["SWIFT_VLLM_CACHE"] ?? NSHomeDirectory() + "/.cache/swift-vllm" }
    static let templateDirectory = cache + "/llama_cpp_python-0.3.36/vendor/llama.cpp/models/templates"
    static let date = (year: 2024, month: 7, day: 26, hour: 10, minute: 30, second: 0)

    static func load(_ name: String) throws -> TemplateValue {
        try OrderedJSON.parse(try Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    nonisolated(unsafe) static let renderings: TemplateValue = try! load("jinja2-renderings.json")
    static var templateNames: [String] { Array(renderings["renderings"]!.objectValue!.keys) }

    /// Where we knowingly differ from jinja2: `tojson` of a lazy `map(...)` result (jinja2 raises, we serialise the
    /// list), and `Markup + str` auto-escaping after `|safe` (we do not model Markup strings).
    static let knownDifferences: Set<String> = ["llama-cpp-deepseek-r1.jinja/tools", "meetkai-functionary-medium-v3.1.jinja/tools"]

    @Test(arguments: templateNames)
    func realTemplate(_ name: String) throws {
        let source = try String(contentsOfFile: Self.templateDirectory + "/" + name, encoding: .utf8)
        let cases = Self.renderings["cases"]!.objectValue!
        let expected = Self.renderings["renderings"]![name]!.objectValue!
        for (caseName, context) in cases {
            var variables: [String: TemplateValue] = ["bos_token": .string("<s>"), "eos_token": .string("</s>"), "tools": .none]
            for (key, value) in context.objectValue! { variables[key] = value }
            let want = expected[caseName]!
            if Self.knownDifferences.contains("\(name)/\(caseName)") { continue }
            let result = Result { try ChatTemplate(source).render(variables, date: Self.date) }
            let got = try? result.get()
            if let text = want.stringValue {
                #expect(got == text, "\(name) / \(caseName) \(result)")
            } else {
                #expect(got == nil, "\(name) / \(caseName): jinja2 raised, we rendered \(got.debugDescription)")
            }
        }
    }

    /// Feature cases we knowingly print differently: Python tuples (from `dict.items()`) print as lists here.
    static let knownFeatureDifferences: Set<String> = ["{{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }}"]

    @Test func features() throws {
        let features = try Self.load("jinja2-features.json")["features"]!.arrayValue!
        for feature in features {
            let source = feature["template"]!.stringValue!
            if Self.knownFeatureDifferences.contains(source) { continue }
            var variables: [String: TemplateValue] = [:]
            for (key, value) in feature["context"]!.objectValue! { variables[key] = value }
            let got: Result<String, Error> = Result { try ChatTemplate(source).render(variables, date: Self.date) }
            if let want = feature["output"]?.stringValue {
                switch got {
                case let .success(text): #expect(text == want, "template: \(source)")
                case let .failure(error): Issue.record("template: \(source) failed: \(error)")
                }
            } else {
                if case let .success(text) = got { Issue.record("template: \(source) should raise, rendered \(text.debugDescription)") }
            }
        }
    }

    @Test func errorsNameLineAndColumn() {
        #expect { try ChatTemplate("line one\n{% if x %}\n  {{ x + }}\n{% endif %}") } throws: { error in
            guard let e = error as? TemplateError else { return false }
            return e.line == 3 && e.column == 3
        }
        #expect { try ChatTemplate("{% for x in y %}").render([:]) } throws: { "\($0)".contains("endfor") }
        #expect { try ChatTemplate("{{ raise_exception('nope') }}").render([:]) } throws: { "\($0)".contains("nope") }
    }
}
