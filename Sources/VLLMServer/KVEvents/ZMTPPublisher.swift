import NIOCore
import NIOPosix
import Synchronization

/// A ZeroMQ PUB socket over TCP (ZMTP 3.1, NULL security), for KV events: subscribers (pyzmq and libzmq, Rust
/// `zeromq`, vllm-router) connect, subscribe to topic prefixes, and receive the multipart messages published while
/// they are connected. A subscriber more than `highWaterMark` messages behind loses the newer ones, as a ZeroMQ PUB
/// socket drops at its high-water mark; nobody connected means nothing is kept.
final class ZMTPPublisher: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let server: any Channel
    private let subscribers = Mutex<[ObjectIdentifier: NIOLoopBound<ZMTPSubscriberHandler>]>([:])
    private let highWaterMark: Int
    /// The bound port (useful when binding port 0).
    let port: Int

    private init(group: MultiThreadedEventLoopGroup, server: any Channel, highWaterMark: Int) {
        self.group = group
        self.server = server
        self.highWaterMark = highWaterMark
        port = server.localAddress?.port ?? 0
    }

    /// Listens on `host:port` (`*` or an address) for subscribers.
    static func bind(host: String, port: Int, highWaterMark: Int) async throws -> ZMTPPublisher {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let registry = Registry()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ZMTPSubscriberHandler(registry: registry, highWaterMark: highWaterMark))
                }
            }
        do {
            let server = try await bootstrap.bind(host: host == "*" ? "0.0.0.0" : host, port: port).get()
            let publisher = ZMTPPublisher(group: group, server: server, highWaterMark: highWaterMark)
            registry.publisher.withLock { $0 = publisher }
            return publisher
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Sends one multipart message to every subscriber whose subscriptions match its first frame.
    func publish(_ frames: [[UInt8]]) {
        let targets = subscribers.withLock { Array($0.values) }
        for target in targets {
            target.eventLoop.execute { target.value.send(frames) }
        }
    }

    /// How many subscribers have completed the handshake.
    var subscriberCount: Int { subscribers.withLock { $0.count } }

    func close() async {
        try? await server.close()
        try? await group.shutdownGracefully()
    }

    fileprivate func register(_ handler: NIOLoopBound<ZMTPSubscriberHandler>, id: ObjectIdentifier) {
        subscribers.withLock { $0[id] = handler }
    }

    fileprivate func unregister(id: ObjectIdentifier) {
        _ = subscribers.withLock { $0.removeValue(forKey: id) }
    }

    /// Lets connection handlers reach the publisher that exists once the bind has succeeded.
    final class Registry: Sendable {
        let publisher = Mutex<ZMTPPublisher?>(nil)

        func register(_ handler: NIOLoopBound<ZMTPSubscriberHandler>, id: ObjectIdentifier) {
            publisher.withLock { $0 }?.register(handler, id: id)
        }

        func unregister(id: ObjectIdentifier) {
            publisher.withLock { $0 }?.unregister(id: id)
        }
    }
}
