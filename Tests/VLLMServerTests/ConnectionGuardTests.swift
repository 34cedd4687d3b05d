import Hummingbird
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing
@testable import VLLMServer

/// The connection cap, connection by connection on embedded channels: idle connections make room for new ones,
/// an overflow connection answers `/health` and 503s the rest, beyond the open limit a connection is closed, and
/// the end of a client's input closes its connection.
struct ConnectionGuardTests {
    static func registry(serve: Int, open: Int, grace: Duration = .zero) -> ConnectionRegistry {
        var limits = ConnectionLimits()
        limits.maxConnections = serve
        limits.maxOpenConnections = open
        return ConnectionRegistry(limits: limits, grace: grace)
    }

    static func connect(_ registry: ConnectionRegistry) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: ConnectionGuard(registry: registry))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    static func head(_ path: String, _ method: HTTPRequest.Method = .post) -> HTTPRequestPart {
        .head(HTTPRequest(method: method, scheme: nil, authority: "localhost", path: path))
    }

    @Test func anIdleConnectionIsClosedToMakeRoomForANewOne() throws {
        let registry = Self.registry(serve: 2, open: 4)
        let busy = try Self.connect(registry)
        try busy.writeInbound(Self.head("/v1/completions"))
        let idle = try Self.connect(registry)
        let newcomer = try Self.connect(registry)
        #expect(!idle.isActive, "the idle connection was closed for the newcomer")
        #expect(busy.isActive && newcomer.isActive)
        #expect(registry.openCount == 2)
        try newcomer.writeInbound(Self.head("/v1/completions"))
        #expect(try newcomer.readInbound(as: HTTPRequestPart.self) != nil, "the newcomer is served")
    }

    @Test func aConnectionJustOpenedIsNotClosedForANewOne() throws {
        let registry = Self.registry(serve: 1, open: 4, grace: .seconds(60))
        let fresh = try Self.connect(registry)
        let newcomer = try Self.connect(registry)
        #expect(fresh.isActive, "the first client gets the time to send its request")
        try newcomer.writeInbound(Self.head("/v1/completions"))
        guard case .head(let head)? = try newcomer.readOutbound(as: HTTPResponsePart.self) else {
            Issue.record("no response head")
            return
        }
        #expect(head.status == .serviceUnavailable, "the newcomer overflows instead")
    }

    @Test func atTheOpenLimitEvenAConnectionJustOpenedIsClosedForANewOne() throws {
        let registry = Self.registry(serve: 1, open: 2, grace: .seconds(60))
        let busy = try Self.connect(registry)
        try busy.writeInbound(Self.head("/v1/completions"))
        let fresh = try Self.connect(registry)
        let newcomer = try Self.connect(registry)
        #expect(!fresh.isActive && newcomer.isActive, "the newcomer, maybe a health check, is not turned away")
        try newcomer.writeInbound(Self.head("/health", .get))
        #expect(try newcomer.readInbound(as: HTTPRequestPart.self) != nil)
        #expect(registry.openCount == 2)
    }

    @Test func aConnectionIdleBetweenRequestsIsClosedAtOnce() throws {
        let registry = Self.registry(serve: 1, open: 4, grace: .seconds(60))
        let kept = try Self.connect(registry)
        try kept.writeInbound(Self.head("/health", .get))
        try kept.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try kept.writeOutbound(HTTPResponsePart.end(nil))
        let newcomer = try Self.connect(registry)
        #expect(!kept.isActive, "its client had its chance (and may have closed it already)")
        try newcomer.writeInbound(Self.head("/v1/completions"))
        #expect(try newcomer.readInbound(as: HTTPRequestPart.self) != nil, "the newcomer is served")
    }

    @Test func whenEveryConnectionIsBusyOnlyHealthIsAnsweredAndTheRestGet503() throws {
        let registry = Self.registry(serve: 1, open: 2)
        let busy = try Self.connect(registry)
        try busy.writeInbound(Self.head("/v1/completions"))
        let overflow = try Self.connect(registry)
        try overflow.writeInbound(Self.head("/health?probe=1", .get))
        #expect(try overflow.readInbound(as: HTTPRequestPart.self) != nil, "/health reaches the router")
        try overflow.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try overflow.writeOutbound(HTTPResponsePart.end(nil))
        while try overflow.readOutbound(as: HTTPResponsePart.self) != nil {}

        try overflow.writeInbound(Self.head("/v1/completions"))
        try overflow.writeInbound(HTTPRequestPart.end(nil))
        #expect(try overflow.readInbound(as: HTTPRequestPart.self) == nil, "the request never reaches the router")
        guard case .head(let head)? = try overflow.readOutbound(as: HTTPResponsePart.self) else {
            Issue.record("no response head")
            return
        }
        #expect(head.status == .serviceUnavailable)
        #expect(head.headerFields[.connection] == "close")
        guard case .body(let body)? = try overflow.readOutbound(as: HTTPResponsePart.self) else {
            Issue.record("no response body")
            return
        }
        let error = json(body)["error"] as? [String: Any]
        #expect(error?["code"] as? Int == 503)
        #expect((error?["message"] as? String)?.contains("--limit-concurrency") == true)
        #expect(!overflow.isActive, "closed after the 503")
    }

    @Test func beyondTheOpenLimitAConnectionIsClosedAtOnce() throws {
        let registry = Self.registry(serve: 1, open: 2)
        let first = try Self.connect(registry)
        try first.writeInbound(Self.head("/v1/completions"))
        let second = try Self.connect(registry)
        try second.writeInbound(Self.head("/health", .get))
        let third = try Self.connect(registry)
        #expect(!third.isActive)
        #expect(first.isActive && second.isActive)
        #expect(registry.openCount == 2)
        try first.close().wait()
        #expect(registry.openCount == 1, "a closed connection leaves the count")
    }

    @Test func theEndOfTheClientsInputClosesTheConnection() throws {
        let registry = Self.registry(serve: 4, open: 8)
        let channel = try Self.connect(registry)
        try channel.writeInbound(Self.head("/v1/completions"))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(!channel.isActive)
        #expect(registry.openCount == 0)
    }

    @Test func limitsFollowTheFileLimit() {
        let defaults = ConnectionLimits(fileLimit: 20_000)
        let budget = 20_000 - ConnectionLimits.reservedFileDescriptors
        #expect(defaults.maxConnections == budget * 3 / 4)
        #expect(defaults.maxOpenConnections == defaults.maxConnections + defaults.maxConnections / 4)
        let explicit = ConnectionLimits(fileLimit: 20_000, maxConnections: 8)
        #expect(explicit.maxConnections == 8 && explicit.maxOpenConnections == 72)
        let tooMany = ConnectionLimits(fileLimit: 1024, maxConnections: 100_000)
        #expect(tooMany.maxConnections == 1024 - ConnectionLimits.reservedFileDescriptors)
        #expect(tooMany.maxOpenConnections == tooMany.maxConnections)
    }
}
