import Foundation
import Hummingbird

/// An error in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with its HTTP status.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    public let type: String
    public let param: String?

    public init(status: HTTPResponse.Status, message: String, type: String? = nil, param: String? = nil) {
        self.status = status
        self.message = message
        self.type = type ?? Self.defaultType(status)
        self.param = param
    }

    /// 400 for a bad request parameter.
    public static func invalid(_ message: String, param: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, param: param)
    }

    static func defaultType(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 401: "authentication_error"
        case 404: "NotFoundError"
        case 503: "ServiceUnavailableError"
        case 500...: "InternalServerError"
        default: "BadRequestError"
        }
    }

    /// The JSON body.
    public var body: Data {
        struct Envelope: Encodable {
            struct Body: Encodable {
                let message: String, type: String, param: String?, code: Int
                func encode(to encoder: any Encoder) throws {
                    var c = encoder.container(keyedBy: CodingKeys.self)
                    try c.encode(message, forKey: .message)
                    try c.encode(type, forKey: .type)
                    if let param { try c.encode(param, forKey: .param) } else { try c.encodeNil(forKey: .param) }
                    try c.encode(code, forKey: .code)
                }
                enum CodingKeys: String, CodingKey { case message, type, param, code }
            }
            let error: Body
        }
        let envelope = Envelope(error: .init(message: message, type: type, param: param, code: Int(status.code)))
        return (try? JSONEncoder().encode(envelope)) ?? Data("{}".utf8)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
