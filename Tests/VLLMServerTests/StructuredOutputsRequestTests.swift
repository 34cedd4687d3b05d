import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMEngine
import VLLMGrammar
import VLLMJSON
import VLLMServer

/// `response_format` and `structured_outputs` reach the engine as one constraint, compiled before the request
/// queues, the way vLLM's request models build `StructuredOutputsParams`; what vLLM refuses is a 400 naming the field.
struct StructuredOutputsRequestTests {
    /// Posts `extra` to both generation endpoints; returns what each compiled and reached the engine with.
    static func accepted(_ extra: String) async throws -> [StructuredOutputs?] {
        var seen: [StructuredOutputs?] = []
        for (uri, input) in ParameterTests.endpoints {
            let backend = FakeBackend()
            try await ParameterTests.app(backend).test(.router) { client in
                let (status, body, _) = try await post(client, uri, #"{"model": "fake", \#(input), "max_tokens": 2, \#(extra)}"#)
                #expect(status == .ok, "\(uri) \(extra): \(body)")
            }
            let reached = backend.lastParameters.withLock { $0?.structuredOutputs }
            #expect(backend.compiled.withLock { $0 } == (reached.map { [$0] } ?? []), "compiled before it queued")
            seen.append(reached)
        }
        #expect(seen[0] == seen[1], "completions and chat agree")
        return seen
    }

    @Test func responseFormatBecomesTheConstraint() async throws {
        #expect(try await Self.accepted(#""response_format": {"type": "text"}"#) == [nil, nil])
        #expect(try await Self.accepted(#""response_format": {"type": "json_object"}"#).first == .jsonObject(whitespacePattern: nil))
        let schema = #"{"type": "object", "properties": {"zeta": {"type": "string"}, "alpha": {"type": "integer"}}, "required": ["zeta"]}"#
        let seen = try await Self.accepted(#""response_format": {"type": "json_schema", "json_schema": {"name": "x", "strict": true, "schema": \#(schema)}}"#)
        guard case .json(let parsed, nil)?? = seen.first else { Issue.record("not a schema: \(seen)"); return }
        #expect(parsed == (try JSONParser.parse(Data(schema.utf8))))
        #expect(parsed.object?["properties"]?.object.map { Array($0.keys) } == ["zeta", "alpha"], "property order is the client's")
    }

    @Test func structuredOutputsCarriesEachKind() async throws {
        #expect(try await Self.accepted(#""structured_outputs": {"choice": ["yes", "no"]}"#).first == .choice(["yes", "no"]))
        #expect(try await Self.accepted(#""structured_outputs": {"regex": "[0-9]{3}"}"#).first == .regex("[0-9]{3}"))
        #expect(try await Self.accepted(#""structured_outputs": {"grammar": "root ::= \"a\"+"}"#).first == .grammar(#"root ::= "a"+"#))
        #expect(try await Self.accepted(#""structured_outputs": {"json_object": true, "whitespace_pattern": " ?"}"#).first
                == .jsonObject(whitespacePattern: " ?"))
        // `json` may be the schema's text, as vLLM's `json: str | dict` allows.
        #expect(try await Self.accepted(#""structured_outputs": {"json": "{\"type\": \"boolean\"}", "disable_fallback": true}"#).first
                == .json(schema: .object(["type": .string("boolean")]), whitespacePattern: nil))
    }

    @Test(arguments: [
        (#""guided_json": {"type": "object"}"#, "guided_json", "structured_outputs.json"),
        (#""guided_choice": ["a", "b"]"#, "guided_choice", "structured_outputs.choice"),
        (#""guided_regex": "a+""#, "guided_regex", "structured_outputs.regex"),
        (#""guided_grammar": "root ::= \"a\"""#, "guided_grammar", "structured_outputs.grammar"),
        (#""guided_decoding_backend": "xgrammar""#, "guided_decoding_backend", "structured_outputs"),
        (#""structured_outputs": {"choice": ["a"], "regex": "a"}"#, "structured_outputs", "only use one kind"),
        (#""structured_outputs": {}"#, "structured_outputs", "none are specified"),
        (#""structured_outputs": {"choice": []}"#, "structured_outputs", "non-empty list of strings"),
        (#""structured_outputs": {"regex": "a", "colour": 1}"#, "structured_outputs", "no field 'colour'"),
        (#""structured_outputs": {"structural_tag": "{}"}"#, "structured_outputs", "structural_tag is not supported"),
        (#""structured_outputs": {"json": {}, "disable_any_whitespace": true}"#, "structured_outputs", "disable_any_whitespace is not supported"),
        (#""structured_outputs": {"json": "{not json"}"#, "structured_outputs", "not valid JSON"),
        (#""structured_outputs": {"regex": "("}"#, "structured_outputs", "missing )"),
        (#""structured_outputs": {"regex": "a"}, "response_format": {"type": "json_object"}"#, "structured_outputs", "only use one kind"),
        (#""response_format": {}"#, "response_format", "'type'"),
        (#""response_format": {"type": "xml"}"#, "response_format", "'xml'"),
        (#""response_format": {"type": "json_schema"}"#, "response_format", "'json_schema' object"),
        (#""response_format": {"type": "json_schema", "json_schema": {"name": "x"}}"#, "response_format", "schema is required"),
        (#""response_format": {"type": "json_schema", "json_schema": {"schema": {}}}"#, "response_format", "name is required"),
    ])
    func refusalsNameTheField(_ extra: String, _ param: String, _ fragment: String) async throws {
        let backend = FakeBackend()
        try await ParameterTests.app(backend).test(.router) { client in
            try await ParameterTests.each(client, extra) { uri, status, message, name in
                #expect(status == .badRequest && name == param, "\(uri) \(extra): \(status) \(name ?? "-") \(message)")
                #expect(message.contains(fragment), "\(uri): \(message)")
            }
        }
        #expect(backend.lastParameters.withLock { $0 } == nil, "nothing reached the engine")
    }
}
