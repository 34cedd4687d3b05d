import Foundation
import Testing
import VLLMGrammar
import VLLMJSON

/// Bad input and unsupported features are errors that name what is wrong, never a silent relaxation.
struct GrammarErrorTests {
    static let compiler = GrammarCompiler(vocabulary: TokenVocabulary(
        tokenBytes: ["a", "b", "{", "}", "\"", "1", " "].map { Array($0.utf8) } + [[]], endOfGeneration: [7], size: 10))

    static func schema(_ text: String) -> StructuredOutputs {
        .json(schema: try! JSONParser.parse(Data(text.utf8)))
    }

    static func message(_ constraint: StructuredOutputs) -> String? {
        do {
            _ = try compiler.compile(constraint)
            return nil
        } catch {
            return error.description
        }
    }

    @Test(arguments: [
        (#"{"type": "string", "format": "email"}"#, "format"),
        (#"{"type": "integer", "minimum": 3}"#, "minimum"),
        (#"{"type": "object", "patternProperties": {"a": {}}}"#, "patternProperties"),
        (#"{"type": "array", "uniqueItems": true}"#, "uniqueItems"),
        (#"{"not": {"type": "string"}}"#, "not"),
        (#"{"allOf": [{"type": "string"}, {"maxLength": 3}]}"#, "allOf"),
        (#"{"$ref": "https://example.com/s.json"}"#, "$ref"),
        (##"{"$ref": "#/$defs/missing"}"##, "does not resolve"),
        (#"{"type": "tuple"}"#, "unknown type 'tuple'"),
        (#"{"type": "object", "properties": {"a": {}}, "required": ["b"]}"#, "'b'"),
        (#"{"type": "array", "minItems": 3, "maxItems": 1}"#, "minItems"),
        (#"{"type": "string", "pattern": "(a"}"#, "pattern"),
    ])
    func unsupportedSchemaFeaturesAreNamed(_ schema: String, _ expected: String) {
        let m = Self.message(Self.schema(schema))
        #expect(m?.contains(expected) == true, "\(schema): \(m ?? "compiled")")
    }

    @Test(arguments: [
        ("root ::= \"a", "line 1, column 12"),
        ("root ::= [a-", "character class"),
        ("root ::= (\"a\"", "expected ')'"),
        ("root ::= other", "'other' is not defined"),
        ("start ::= \"a\"", "no 'root' rule"),
        ("root ::= \"a\"{3,1}", "maximum is below the minimum"),
        ("root ::= root \"a\" | \"b\"", "left-recursive"),
        ("root ::= \"a\"\nroot ::= \"b\"", "defined twice"),
        ("root ::= \"\\q\"", "unknown escape"),
        ("root ::= (= \"a\") \"b\"", "lookahead"),
    ])
    func malformedGrammarsPointAtTheError(_ source: String, _ expected: String) {
        let m = Self.message(.grammar(source))
        #expect(m?.contains(expected) == true, "\(source): \(m ?? "compiled")")
    }

    @Test(arguments: [
        ("(ab", "not closed"),
        ("ab)", "unbalanced"),
        ("[a-", "not closed"),
        ("a{3,1}", "maximum is below"),
        ("(a)\\1", "backreferences"),
        ("\\bword", "word boundaries"),
        ("(?=a)b", "lookahead"),
        ("\\p{L}", "Unicode property"),
        ("*a", "nothing to repeat"),
    ])
    func malformedRegexesAreErrors(_ pattern: String, _ expected: String) {
        let m = Self.message(.regex(pattern))
        #expect(m?.contains(expected) == true, "\(pattern): \(m ?? "compiled")")
    }

    @Test func emptyChoiceAndLarkErrors() {
        #expect(Self.message(.choice([]))?.contains("empty") == true)
        #expect(Self.message(.grammar("start: 'a\n"))?.contains("mismatched quotes") == true)
        #expect(Self.message(.json(schema: .bool(false)))?.contains("'false'") == true)
    }
}
