import Foundation
import Testing
import VLLMGrammar
import VLLMJSON

/// JSON schema features checked by hand on a character-per-token vocabulary: whatever string a test feeds, one token
/// per byte, so acceptance is exactly the language of the schema's grammar.
struct JSONSchemaGrammarTests {
    static let characters = Array("{}[],:\"-0123456789 \nabcdefghijklmnopqrstuvwxyz.eE+\\".utf8)
    static let eos = Int32(characters.count)
    static let compiler = GrammarCompiler(vocabulary: TokenVocabulary(
        tokenBytes: characters.map { [$0] } + [[]], endOfGeneration: [eos], size: characters.count + 1))

    /// Whether `text` is a whole sentence of the schema's grammar (every byte accepted, then end-of-generation).
    static func accepts(_ schema: String, _ text: String, whitespace: String? = nil) throws -> Bool {
        let value = try JSONParser.parse(Data(schema.utf8))
        var m = GrammarMatcher(try compiler.compile(.json(schema: value, whitespacePattern: whitespace)))
        for b in text.utf8 {
            guard let i = characters.firstIndex(of: b), m.accept(Int32(i)) else { return false }
        }
        return m.accept(eos)
    }

    @Test func integerRanges() throws {
        let s = #"{"type": "integer", "minimum": -15, "maximum": 230}"#
        for n in -30...300 { #expect(try Self.accepts(s, String(n)) == (-15...230).contains(n), "\(n)") }
        #expect(try !Self.accepts(s, "007"))
        #expect(try !Self.accepts(s, "-0"))
        let open = #"{"type": "integer", "exclusiveMinimum": 7}"#
        for n in -20...200 { #expect(try Self.accepts(open, String(n)) == (n > 7), "\(n)") }
        #expect(try Self.accepts(open, "123456789012"))
    }

    @Test func propertiesInOrderRequiredOnesPresent() throws {
        let s = #"{"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "boolean"}, "c": {"type": "null"}}, "required": ["b"]}"#
        #expect(try Self.accepts(s, #"{"b":true}"#))
        #expect(try Self.accepts(s, #"{ "a" : 1 , "b":false,"c":null }"#))
        #expect(try !Self.accepts(s, #"{"a":1}"#))  // b is required
        #expect(try !Self.accepts(s, #"{"b":true,"a":1}"#))  // schema order only
        #expect(try !Self.accepts(s, #"{"b":true,"d":1}"#))  // strict: no other properties
        #expect(try !Self.accepts(s, #" {"b":true}"#))  // no whitespace around the value
    }

    @Test func additionalPropertiesSchema() throws {
        let s = #"{"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "string"}}"#
        #expect(try Self.accepts(s, #"{"a":1,"x":"y"}"#))
        #expect(try Self.accepts(s, #"{"x":"y","z":"w"}"#))
        #expect(try !Self.accepts(s, #"{"a":1,"x":2}"#))
    }

    @Test func arraysAndTypeLists() throws {
        let s = #"{"type": "array", "items": {"type": ["integer", "null"]}, "minItems": 1, "maxItems": 3}"#
        #expect(try Self.accepts(s, "[1,null, 2]"))
        #expect(try !Self.accepts(s, "[]"))
        #expect(try !Self.accepts(s, "[1,2,3,4]"))
        let prefix = #"{"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": false}"#
        #expect(try Self.accepts(prefix, #"[1,"a"]"#))
        #expect(try Self.accepts(prefix, "[1]"))
        #expect(try !Self.accepts(prefix, #"[1,"a",2]"#))
    }

    @Test func nullableEnumConstAndStrings() throws {
        #expect(try Self.accepts(#"{"type": "string", "nullable": true}"#, "null"))
        #expect(try Self.accepts(#"{"enum": ["a", 1, null]}"#, #""a""#))
        #expect(try !Self.accepts(#"{"enum": ["a", 1, null]}"#, "2"))
        #expect(try Self.accepts(#"{"const": {"k": [1, 2]}}"#, #"{"k":[1,2]}"#))
        #expect(try Self.accepts(#"{"type": "string", "minLength": 2, "maxLength": 3}"#, #""abc""#))
        #expect(try !Self.accepts(#"{"type": "string", "minLength": 2, "maxLength": 3}"#, #""a""#))
        #expect(try Self.accepts(#"{"type": "string", "pattern": "^[a-c]+x$"}"#, #""abcx""#))
        #expect(try Self.accepts(#"{"type": "string"}"#, #""a\n\u00e9\"""#))
    }

    @Test func whitespacePatternReplacesTheDefault() throws {
        let s = #"{"type": "array", "items": {"type": "integer"}}"#
        #expect(try Self.accepts(s, "[1, 2]"))
        #expect(try !Self.accepts(s, "[1, 2]", whitespace: ""))
        #expect(try Self.accepts(s, "[1,2]", whitespace: ""))
        #expect(try Self.accepts(s, "[1 ,\n2]", whitespace: "[ \\n]?"))
        #expect(try !Self.accepts(s, "[1  ,2]", whitespace: "[ \\n]?"))
    }

    @Test func recursiveReferencesAndAnyJSON() throws {
        let tree = ##"{"$defs": {"t": {"type": "object", "properties": {"k": {"type": "array", "items": {"$ref": "#/$defs/t"}}}, "required": ["k"]}}, "$ref": "#/$defs/t"}"##
        #expect(try Self.accepts(tree, #"{"k":[{"k":[]},{"k":[{"k":[]}]}]}"#))
        #expect(try !Self.accepts(tree, #"{"k":[{}]}"#))
        #expect(try Self.accepts("{}", #"[1, {"a": [true, null, "x"]}, -2.5e+3]"#))
        #expect(try Self.accepts("true", "\"s\""))
    }
}
