import Foundation
import VLLMEngine

/// The server-independent half of a generation request: body bytes to validated fields, sampling parameters and the
/// conversation's shape, exactly as the endpoints decode them, with no model, tokenizer or engine. The fuzzers
/// (`vllm-fuzz request`) drive untrusted bytes through it; every failure must be a thrown `APIError`.
package enum RequestDecoding {
    /// Decodes `body` as `POST /v1/completions`, `POST /v1/chat/completions` and `POST /v1/responses` would before
    /// tokenizing: the JSON object, every sampling field under both endpoints' names, the prompt's shape, the chat
    /// messages' shape, and the chat request a Responses body amounts to.
    /// - Parameter limits: the model's limits the parameters are checked against.
    package static func decode(body: Data, limits: RequestLimits) throws(APIError) {
        let fields = try RequestFields(body: body)
        if let responses = try? ResponsesRequest(fields), let messages = responses.chat["messages"]?.array {
            try? ServerContext.validate(ChatRequest(messages: messages, tools: responses.chat["tools"]?.array, documents: nil))
        }
        for keys in [["max_tokens"], ["max_tokens", "max_completion_tokens"]] {
            let parameters = try fields.samplingParameters(maxTokensKeys: keys)
            try ServerContext.validate(parameters, limits: limits, maxLogprobs: ServerConfiguration().maxLogprobs)
            _ = try ServerContext.fitted(parameters, promptTokenIDs: [0], limits: limits)
        }
        _ = try fields.truncatePromptTokens(maxModelLength: limits.maxModelLength)
        _ = try fields.int("logprobs")
        _ = try fields.int("top_logprobs")
        _ = try fields.bool("echo")
        _ = try fields.object("stream_options")
        _ = try fields.object("chat_template_kwargs")
        if let messages = fields["messages"]?.array {
            let chat = ChatRequest(messages: messages, tools: fields["tools"]?.array, documents: fields["documents"]?.array)
            try ServerContext.validate(chat)
        }
    }
}

extension RequestDecoding {
    /// One JSON object's sampling fields decoded exactly as the endpoints decode them (the one decoder of sampling
    /// fields: `vllm generate --input` lines go through it too), plus `logprobs` as a count, as vLLM's
    /// `SamplingParams` takes it. Returns the fields the decoder does not know, for the caller's warning.
    package static func samplingParameters(object: Data, otherKnownKeys: Set<String>,
                                           defaults: SamplingDefaults = SamplingDefaults()) throws(APIError) -> (SamplingParameters, unknown: [String]) {
        let fields = try RequestFields(body: object)
        var parameters = try fields.samplingParameters(defaults: defaults)
        parameters.logprobs = try fields.int("logprobs")
        let known = RequestFields.samplingKeys.union(otherKnownKeys).union(["logprobs"])
        return (parameters, fields.values.keys.filter { !known.contains($0) }.sorted())
    }
}
