import VLLMJSON

/// A constraint on a request's output text, as vLLM's `StructuredOutputsParams` spells it: exactly one of a JSON
/// schema, any JSON object, a regular expression, a choice of strings, or an EBNF grammar.
public enum StructuredOutputs: Sendable, Hashable {
    /// Output is JSON valid against `schema`; `whitespacePattern` (a regex) replaces the default whitespace between
    /// tokens of the JSON.
    case json(schema: JSONValue, whitespacePattern: String? = nil)
    /// Output is any JSON object (`response_format: {"type": "json_object"}`).
    case jsonObject(whitespacePattern: String? = nil)
    /// Output matches the regular expression in full.
    case regex(String)
    /// Output is exactly one of the strings.
    case choice([String])
    /// Output is a sentence of the grammar (GBNF, the EBNF dialect vLLM and llama.cpp accept, with `root` as start).
    case grammar(String)
}
