import Foundation
import Logging
import VLLMEngine
import VLLMJSON

/// A request body's top-level fields with typed accessors whose errors name the parameter (HTTP 400).
struct RequestFields {
    let values: JSONObject
    /// The `X-Request-Id` header, which vLLM prefers to the body's `request_id`.
    var headerRequestID: String?

    init(body: Data) throws(APIError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw .invalid("The request body is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw .invalid("The request body must be a JSON object.")
        }
        values = object
    }

    init(values: JSONObject) { self.values = values }

    /// The response's id: `prefix` and the `X-Request-Id` header, else the body's `request_id`, else a random one
    /// (vLLM's `chatcmpl-` / `cmpl-` ids).
    func responseID(_ prefix: String) throws(APIError) -> String {
        if let id = headerRequestID { return prefix + id }
        if let id = try string("request_id") { return prefix + id }
        return Responses.newID(prefix)
    }

    subscript(key: String) -> JSONValue? {
        if let v = values[key], v != .null { return v }
        return nil
    }

    /// Fields this server does not know are ignored with a warning, as vLLM does (routers and SDKs add their own);
    /// fields it knows are honoured or refused by name.
    func warnUnknown(_ known: Set<String>, logger: Logger) {
        let unknown = values.keys.filter { !known.contains($0) }.sorted()
        guard !unknown.isEmpty else { return }
        let names = unknown.map { "'\($0)'" }.joined(separator: ", ")
        logger.warning("The following fields were present in the request but ignored: {\(names)}")
    }

    func string(_ key: String) throws(APIError) -> String? {
        guard let v = self[key] else { return nil }
        guard let s = v.string else { throw Self.type(key, "a string", v) }
        return s
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let v = self[key] else { return nil }
        guard let b = v.bool else { throw Self.type(key, "a boolean", v) }
        return b
    }

    func double(_ key: String) throws(APIError) -> Double? {
        guard let v = self[key] else { return nil }
        guard let n = v.number else { throw Self.type(key, "a number", v) }
        return n
    }

    func int(_ key: String) throws(APIError) -> Int? {
        guard let v = self[key] else { return nil }
        guard let n = v.number, n == n.rounded(), abs(n) < 1e15 else { throw Self.type(key, "an integer", v) }
        return Int(n)
    }

    func ints(_ key: String) throws(APIError) -> [Int]? {
        guard let v = self[key] else { return nil }
        guard let a = v.array else { throw Self.type(key, "an array of integers", v) }
        var out: [Int] = []
        for element in a {
            guard let n = element.number, n == n.rounded(), abs(n) < 1e15 else { throw Self.type(key, "an array of integers", v) }
            out.append(Int(n))
        }
        return out
    }

    /// A string or a list of strings (e.g. `stop`).
    func strings(_ key: String) throws(APIError) -> [String]? {
        guard let v = self[key] else { return nil }
        if let s = v.string { return [s] }
        guard let a = v.array, a.allSatisfy({ $0.string != nil }) else { throw Self.type(key, "a string or an array of strings", v) }
        return a.compactMap(\.string)
    }

    func object(_ key: String) throws(APIError) -> JSONObject? {
        guard let v = self[key] else { return nil }
        guard let o = v.object else { throw Self.type(key, "an object", v) }
        return o
    }

    /// `truncate_prompt_tokens`: how many prompt tokens to keep, the last ones (vLLM's left truncation); -1 means
    /// max_model_len, and more than max_model_len is refused with vLLM's message.
    func truncatePromptTokens(maxModelLength: Int) throws(APIError) -> Int? {
        guard let k = try int("truncate_prompt_tokens") else { return nil }
        guard k >= -1 else {
            throw .invalid("truncate_prompt_tokens must be -1 or at least 0, got \(k)", param: "truncate_prompt_tokens")
        }
        let size = k == -1 ? maxModelLength : k
        guard size <= maxModelLength else {
            throw .invalid("truncate_prompt_tokens value (\(size)) is greater than max_model_len (\(maxModelLength)). Please, select a smaller truncation size.",
                           param: "truncate_prompt_tokens")
        }
        return size
    }

    static func type(_ key: String, _ expected: String, _ value: JSONValue) -> APIError {
        .invalid("'\(key)' must be \(expected), got \(value.typeName)", param: key)
    }

    /// Sampling keys shared by completions and chat completions.
    static let samplingKeys: Set<String> = [
        "n", "temperature", "top_p", "top_k", "min_p", "presence_penalty", "frequency_penalty", "repetition_penalty",
        "seed", "stop", "stop_token_ids", "include_stop_str_in_output", "ignore_eos", "max_tokens", "min_tokens",
        "skip_special_tokens", "spaces_between_special_tokens", "allowed_token_ids", "prompt_logprobs", "logit_bias",
        "bad_words", "model", "stream", "stream_options", "user", "priority", "request_id", "cache_salt",
        "add_special_tokens", "truncate_prompt_tokens", "best_of", "use_beam_search", "length_penalty",
        "guided_json", "guided_regex", "guided_choice", "guided_grammar", "guided_whitespace_pattern", "guided_decoding_backend",
        "response_format", "structured_outputs",
    ]
}
