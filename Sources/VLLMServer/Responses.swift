import Foundation
import Hummingbird
import VLLMEngine

/// Builders of OpenAI response bodies (JSON via `JSONValue`) and SSE framing.
enum Responses {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONEncoder().encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `data: {json}\n\n`
    static func event(_ value: JSONValue) -> ByteBuffer {
        let data = (try? JSONEncoder().encode(value)) ?? Data("{}".utf8)
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes(data)
        buffer.writeString("\n\n")
        return buffer
    }

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

    /// An SSE response whose body `produce` writes chunk by chunk; `[DONE]` closes it. A failure mid-stream
    /// is sent as an error event, since the status line is already out.
    static func eventStream(_ produce: @escaping @Sendable (_ send: (JSONValue) async throws -> Void) async throws -> Void) -> Response {
        let body = ResponseBody { writer in
            do {
                try await produce { value in try await writer.write(event(value)) }
            } catch let error as APIError {
                try await writer.write(event(.object(["error": .object(["message": .string(error.message), "type": .string(error.type),
                                                                        "code": number(Int(error.status.code))])])))
            } catch is CancellationError {
                return
            } catch {
                try await writer.write(event(.object(["error": .object(["message": .string("\(error)"), "type": .string("InternalServerError"),
                                                                        "code": .number(500)])])))
            }
            try await writer.write(done)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}
