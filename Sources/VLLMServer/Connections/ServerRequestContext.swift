import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's basic one plus the connection the request came on, whose
/// closing cancels the request's work (`Disconnection`).
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request's connection.
    public let channel: any Channel

    /// The context of a request read from `source`'s channel.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
