import Foundation
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// The per-connection half of the connection limits, in each HTTP/1 channel's pipeline after the HTTP codec:
/// - reports the connection's opening, requests and closing to the `ConnectionRegistry`, which may close it or make
///   it an overflow connection;
/// - on an overflow connection answers every request but the monitoring ones (`/health`, `/metrics`: cheap, and
///   wanted most when the server is full) with 503 in OpenAI's error shape and closes;
/// - closes the connection when the client shuts its side (end of input), as uvicorn does under vLLM: the client is
///   gone, and closing is what cancels the request it left running (`Disconnection`).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let registry: ConnectionRegistry
    private var admission: ConnectionRegistry.Admission?
    /// The current request was answered here (503): its remaining parts are dropped.
    private var refusing = false

    init(registry: ConnectionRegistry) {
        self.registry = registry
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context)
        context.fireChannelActive()
    }

    private func admit(_ context: ChannelHandlerContext) {
        guard admission == nil else { return }
        let admission = registry.opened(context.channel)
        self.admission = admission
        if admission == .refuse { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        registry.closed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if admission == .overflow, !Self.monitoringPaths.contains(Self.path(head)) {
                refusing = true
                refuse(context)
                return
            }
            registry.requestStarted(context.channel)
        case .body, .end:
            if refusing { return }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { registry.requestFinished(context.channel) }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// 503 with `Connection: close`, then close.
    private func refuse(_ context: ChannelHandlerContext) {
        let limits = registry.limits
        let error = APIError(status: .serviceUnavailable,
                             message: "The server is at its connection limit: \(limits.maxConnections) connections have requests in progress (--limit-concurrency). Retry later.")
        let body = error.body
        let head = HTTPResponse(status: .serviceUnavailable, headerFields: [.contentType: "application/json", .contentLength: String(body.count),
                                                                         .connection: "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Answered on overflow connections too.
    static let monitoringPaths: Set<String> = ["/health", "/metrics"]

    /// The request path without its query.
    static func path(_ head: HTTPRequest) -> String {
        let path = head.path ?? ""
        return path.firstIndex(of: "?").map { String(path[..<$0]) } ?? path
    }
}
