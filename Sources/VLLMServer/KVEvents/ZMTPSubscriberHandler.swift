import NIOCore

/// One subscriber's connection to the `ZMTPPublisher`: the ZMTP 3.1 greeting (NULL mechanism), the READY handshake
/// (the peer must be a SUB or XSUB socket), subscriptions (ZMTP 3.0's `\x01topic` messages and 3.1's SUBSCRIBE
/// and CANCEL commands), then published messages whose topic frame starts with one of its subscriptions.
final class ZMTPSubscriberHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase { case greeting, handshake, ready }

    private let registry: ZMTPPublisher.Registry
    private let highWaterMark: Int
    private var phase = Phase.greeting
    private var input = ByteBuffer()
    private var subscriptions: [[UInt8]] = []
    /// Messages written and not yet on the wire.
    private var pending = 0
    private var context: ChannelHandlerContext?

    init(registry: ZMTPPublisher.Registry, highWaterMark: Int) {
        self.registry = registry
        self.highWaterMark = highWaterMark
    }

    /// Signature, version 3.1, mechanism NULL, as-server 0, zero filler: 64 bytes.
    static let greeting: [UInt8] = [0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1] + Array("NULL".utf8) + [UInt8](repeating: 0, count: 16)
        + [0] + [UInt8](repeating: 0, count: 31)

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: Self.greeting)), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        registry.unregister(id: ObjectIdentifier(self))
        self.context = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        input.writeBuffer(&bytes)
        do {
            while try step(context) {}
        } catch {
            context.close(promise: nil)
        }
        input.discardReadBytes()
    }

    /// Consumes one greeting or frame from `input`; false when more bytes are needed.
    private func step(_ context: ChannelHandlerContext) throws -> Bool {
        if phase == .greeting {
            guard let peer = input.readBytes(length: 64) else { return false }
            guard peer[0] == 0xFF, peer[9] == 0x7F, peer[10] >= 3, Array(peer[12..<16]) == Array("NULL".utf8) else {
                throw ZMTPError.unsupportedPeer
            }
            phase = .handshake
            context.writeAndFlush(wrapOutboundOut(ZMTPFrame.ready(socketType: "PUB", allocator: context.channel.allocator)), promise: nil)
            return true
        }
        guard let frame = try ZMTPFrame.read(from: &input) else { return false }
        if frame.isCommand {
            try command(frame.body, context)
        } else if phase == .ready, let first = frame.body.first, !frame.more {
            // ZMTP 3.0 subscriptions: \x01 topic subscribes, \x00 topic cancels.
            if first == 1 { subscriptions.append(Array(frame.body.dropFirst())) }
            if first == 0, let i = subscriptions.firstIndex(of: Array(frame.body.dropFirst())) { subscriptions.remove(at: i) }
        }
        return true
    }

    private func command(_ body: [UInt8], _ context: ChannelHandlerContext) throws {
        guard let length = body.first.map(Int.init), body.count >= 1 + length else { throw ZMTPError.malformed }
        let name = String(decoding: body[1..<(1 + length)], as: UTF8.self)
        let rest = Array(body[(1 + length)...])
        switch name {
        case "READY":
            let type = ZMTPFrame.property("Socket-Type", in: rest)
            guard type == "SUB" || type == "XSUB" else { throw ZMTPError.unsupportedPeer }
            phase = .ready
            registry.register(NIOLoopBound(self, eventLoop: context.eventLoop), id: ObjectIdentifier(self))
        case "SUBSCRIBE": subscriptions.append(rest)
        case "CANCEL": if let i = subscriptions.firstIndex(of: rest) { subscriptions.remove(at: i) }
        case "ERROR": throw ZMTPError.peerError
        default: break  // PING and other commands need no answer from a publisher
        }
    }

    /// Writes a message if the subscriber wants its topic and is within the high-water mark (on the event loop).
    func send(_ frames: [[UInt8]]) {
        guard let context, phase == .ready, pending < highWaterMark else { return }
        let topic = frames.first ?? []
        guard subscriptions.contains(where: { topic.starts(with: $0) }) else { return }
        pending += 1
        let promise = context.eventLoop.makePromise(of: Void.self)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        promise.futureResult.whenComplete { _ in handler.value.pending -= 1 }
        context.writeAndFlush(wrapOutboundOut(ZMTPFrame.message(frames, allocator: context.channel.allocator)), promise: promise)
    }
}

enum ZMTPError: Error { case unsupportedPeer, malformed, peerError }
