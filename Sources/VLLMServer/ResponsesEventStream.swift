import VLLMEngine
import VLLMJSON

/// A streamed response as the Responses API's semantic events (`event: TYPE` then `data: {...}` with its
/// `sequence_number`): `response.created` and `response.in_progress`, then per output item `output_item.added`,
/// its deltas (`reasoning_text.delta`, `output_text.delta`, `function_call_arguments.delta`), their `.done` events and
/// `output_item.done`, then `response.completed` (or `response.incomplete` at `max_output_tokens`). The chat
/// answer's deltas (`ChatDeltaStream`) decide the items: a new kind of delta closes the open item and opens the next.
struct ResponsesEventStream: Sendable {
    let shape: ResponseShape
    let reader: ChatOutputReader
    /// The output text's logprobs entries of some tokens (`ChatCompletionsEndpoint.outputTextLogprobs`).
    let logprobs: @Sendable ([TokenLogprobs]) -> [JSONValue]
    /// The token count of the reasoning text (`ResponsesEndpoint.reasoningTokens`).
    let reasoningTokens: @Sendable (String) -> Int

    /// The open item: its kind, id, output index and text so far (a call's arguments).
    private struct OpenItem {
        enum Kind: Equatable { case reasoning, message, call(index: Int, callID: String, name: String) }
        var kind: Kind
        let id: String
        let outputIndex: Int
        var text = ""
        /// The output text's logprobs so far.
        var logprobs: [JSONValue] = []
    }

    func run(_ outputs: AsyncThrowingStream<(Int, RequestOutput), Error>,
             send: @Sendable (JSONValue) async throws -> Void) async throws {
        var sequence = 0
        func emit(_ type: String, _ fields: JSONObject) async throws {
            var object: JSONObject = ["type": .string(type), "sequence_number": Responses.number(sequence)]
            object.merge(fields) { first, _ in first }
            sequence += 1
            try await send(.object(object))
        }
        let started = shape.response(status: "in_progress", output: [], usage: nil)
        try await emit("response.created", ["response": started])
        try await emit("response.in_progress", ["response": started])
        var done: [JSONValue] = [], open: OpenItem?, stream = ChatDeltaStream(reader: reader)
        var tokens = 0, cached = 0, reasoning = "", finish: FinishReason = .stop

        func close(status: String = "completed") async throws {
            guard let item = open else { return }
            open = nil
            let at: JSONObject = ["item_id": .string(item.id), "output_index": Responses.number(item.outputIndex)]
            var final: JSONValue
            switch item.kind {
            case .reasoning:
                try await emit("response.reasoning_text.done", at.merging(["content_index": .number(0), "text": .string(item.text)]) { a, _ in a })
                try await emit("response.content_part.done", at.merging(["content_index": .number(0), "part": ResponseShape.reasoningPart(item.text)]) { a, _ in a })
                final = ResponseShape.reasoningItem(id: item.id, text: item.text, status: status)
                reasoning += item.text
            case .message:
                try await emit("response.output_text.done", at.merging(["content_index": .number(0), "text": .string(item.text), "logprobs": .array(item.logprobs)]) { a, _ in a })
                try await emit("response.content_part.done", at.merging(["content_index": .number(0), "part": ResponseShape.textPart(item.text, logprobs: item.logprobs)]) { a, _ in a })
                final = ResponseShape.messageItem(id: item.id, text: item.text, status: status, logprobs: item.logprobs)
            case .call(_, let callID, let name):
                try await emit("response.function_call_arguments.done", at.merging(["name": .string(name), "arguments": .string(item.text)]) { a, _ in a })
                final = ResponseShape.functionCallItem(id: item.id, callID: callID, name: name, arguments: item.text, status: status)
            }
            try await emit("response.output_item.done", ["output_index": Responses.number(item.outputIndex), "item": final])
            done.append(final)
        }

        func begin(_ kind: OpenItem.Kind) async throws {
            if let item = open, item.kind == kind { return }
            try await close()
            let index = done.count, id: String, item: JSONValue, part: JSONValue?
            switch kind {
            case .reasoning:
                id = Responses.newID("rs_")
                (item, part) = (ResponseShape.reasoningItem(id: id, text: nil, status: "in_progress"), ResponseShape.reasoningPart(""))
            case .message:
                id = Responses.newID("msg_")
                (item, part) = (ResponseShape.messageItem(id: id, text: nil, status: "in_progress"), ResponseShape.textPart(""))
            case .call(_, let callID, let name):
                id = Responses.newID("fc_")
                (item, part) = (ResponseShape.functionCallItem(id: id, callID: callID, name: name, arguments: "", status: "in_progress"), nil)
            }
            try await emit("response.output_item.added", ["output_index": Responses.number(index), "item": item])
            if let part {
                try await emit("response.content_part.added", ["item_id": .string(id), "output_index": Responses.number(index),
                                                               "content_index": .number(0), "part": part])
            }
            open = OpenItem(kind: kind, id: id, outputIndex: index)
        }

        // Token logprobs not yet sent: a token whose text the detokenizer holds back goes with the next text.
        var pending: [TokenLogprobs] = []

        func apply(_ delta: JSONObject) async throws {
            if let text = delta["reasoning"]?.string, !text.isEmpty {
                pending = []  // the reasoning's tokens: the API gives reasoning text no logprobs
                try await begin(.reasoning)
                open?.text += text
                try await emit("response.reasoning_text.delta", ["item_id": .string(open!.id), "output_index": Responses.number(open!.outputIndex),
                                                                 "content_index": .number(0), "delta": .string(text)])
            }
            if let text = delta["content"]?.string, !text.isEmpty {
                try await begin(.message)
                let entries = logprobs(pending)
                pending = []
                open?.text += text
                open?.logprobs += entries
                try await emit("response.output_text.delta", ["item_id": .string(open!.id), "output_index": Responses.number(open!.outputIndex),
                                                              "content_index": .number(0), "delta": .string(text), "logprobs": .array(entries)])
            }
            for call in delta["tool_calls"]?.array ?? [] {
                let object = call.object ?? [:], function = object["function"]?.object ?? [:]
                let index = Int(object["index"]?.number ?? 0)
                if case .call(index, _, _)? = open?.kind {} else {
                    try await begin(.call(index: index, callID: object["id"]?.string ?? Responses.newID("call_"), name: function["name"]?.string ?? ""))
                }
                if let arguments = function["arguments"]?.string, !arguments.isEmpty {
                    open?.text += arguments
                    try await emit("response.function_call_arguments.delta", ["item_id": .string(open!.id), "output_index": Responses.number(open!.outputIndex),
                                                                             "delta": .string(arguments)])
                }
            }
        }

        do {
            for try await (_, output) in outputs {
                tokens += output.tokenIDs.count
                cached = output.cachedPromptTokenCount
                pending += output.logprobs
                try await apply(stream.feed(output.text))
                if let reason = output.finishReason {
                    finish = reason
                    try await apply(stream.finish())
                }
            }
        } catch let error as APIError {
            // The status line is out: the API's error event, then the stream ends.
            try await emit("error", ["code": .string(error.type), "message": .string(error.message), "param": error.param.map(JSONValue.string) ?? .null])
            return
        }
        if done.isEmpty && open == nil { try await begin(.message) }
        let status = finish == .length ? "incomplete" : "completed"
        // A last token with no text (the end of sequence) still has its entry in the finished text's logprobs.
        if open?.kind == .message { open?.logprobs += logprobs(pending) }
        try await close(status: status)
        let usage = ResponseShape.Usage(output: tokens, cached: cached, reasoning: reasoningTokens(reasoning))
        try await emit(status == "incomplete" ? "response.incomplete" : "response.completed",
                       ["response": shape.response(status: status, output: done, usage: usage)])
    }
}
