import Foundation
import Hummingbird
import VLLMEngine
import VLLMJSON

/// Builders of OpenAI response bodies (JSON via `JSONValue`) and SSE framing.
enum Responses {
    /// A JSON body, compact, its objects' keys in the order they were built (as vLLM's pydantic models write them;
    /// the order matters where vLLM's does: a prompt_logprobs entry lists the prompt token first).
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text(value))))
    }

    /// `data: {json}\n\n`
    static func event(_ value: JSONValue) -> ByteBuffer {
        ByteBuffer(string: "data: " + text(value) + "\n\n")
    }

    static func text(_ value: JSONValue) -> String { value.serialized(itemSeparator: ",", keySeparator: ":") }

    static let done = ByteBuffer(string: "data: [DONE]\n\n")

    static func usage(prompt: Int, completion: Int) -> JSONValue {
        .object(["prompt_tokens": .number(Double(prompt)), "completion_tokens": .number(Double(completion)),
                 "total_tokens": .number(Double(prompt + completion))])
    }

    static func number(_ value: Int) -> JSONValue { .number(Double(value)) }

    static func finishReason(_ reason: FinishReason?) -> JSONValue {
        guard let reason else { return .null }
        return .string(reason == .abort ? "abort" : reason.rawValue)
    }

    static func newID(_ prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    static var created: JSONValue { .number(Double(Int(Date().timeIntervalSince1970))) }

    /// One event: `data: {json}`, or with `named` the Responses API's `event: TYPE` line first.
    static func frame(_ value: JSONValue, named: Bool) -> ByteBuffer {
        named ? ByteBuffer(string: "event: \(value.object?["type"]?.string ?? "message")\ndata: " + text(value) + "\n\n") : event(value)
    }

    /// A failure once the stream has started: chat's `{"error": {...}}`, or the Responses API's `error` event.
    static func failure(_ message: String, type: String, code: Int, named: Bool) -> ByteBuffer {
        named ? frame(.object(["type": .string("error"), "code": .string(type), "message": .string(message), "param": .null]), named: true)
            : event(.object(["error": .object(["message": .string(message), "type": .string(type), "code": number(code)])]))
    }

    /// An SSE response whose body `produce` writes chunk by chunk; `[DONE]` closes it. A failure mid-stream
    /// is sent as an error event, since the status line is already out. `produce` runs in a task of its own,
    /// cancelled when a write fails or, before anything is written (a request queued or prefilling), when the
    /// request's connection closes (`Disconnection`).
    /// `named`: the Responses API's framing instead: each event `event: TYPE` (its `type` field) then its data, no
    /// `[DONE]`, a failure as an `error` event (`{type, code, message, param}`).
    static func eventStream(named: Bool = false,
                            _ produce: @escaping @Sendable (_ send: @Sendable (JSONValue) async throws -> Void) async throws -> Void) -> Response {
        let connection = Disconnection.connection
        let end = named ? ByteBuffer() : done
        let body = ResponseBody { writer in
            // Buffered without a bound: the events of one request are bounded by its max_tokens.
            let (events, continuation) = AsyncStream<ByteBuffer>.makeStream()
            let producer = Task {
                do {
                    try await produce { value in
                        try Task.checkCancellation()
                        continuation.yield(frame(value, named: named))
                    }
                } catch let error as APIError {
                    continuation.yield(failure(error.message, type: error.type, code: Int(error.status.code), named: named))
                } catch is CancellationError {
                    continuation.finish()
                    return
                } catch {
                    continuation.yield(failure("\(error)", type: "InternalServerError", code: 500, named: named))
                }
                continuation.yield(end)
                continuation.finish()
            }
            let watch = connection.map { Disconnection.Watch($0, producer) }
            defer {
                producer.cancel()
                watch?.release()
            }
            var complete = false
            for await buffer in events {
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
                complete = buffer == end
            }
            if complete { try await writer.finish(nil) }
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}
