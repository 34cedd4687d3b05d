import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing
import VLLMServer

/// Connections against a live server: a dropped request stops generating whether it streams or not, idle and
/// half-sent connections are closed after the keep-alive timeout, and long prompts are tokenized off the HTTP
/// threads. The windows are wide: beside the whole suite on two cores the server's handlers wait seconds for a
/// cooperative thread, so these check that each thing happens long before it otherwise would; the e2e tests
/// (tests/e2e/test_connections.py) time it on the real server, alone.
struct ConnectionTests {
    static func app(_ backend: FakeBackend, keepAlive: Duration = .seconds(5)) -> some ApplicationProtocol {
        var configuration = ServerConfiguration()
        configuration.servedModelNames = ["fake"]
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.connections.keepAliveTimeout = keepAlive
        return OpenAIServer.application(ServerContext(backend: backend, configuration: configuration), logger: Logger(label: "test"))
    }

    static func request(_ body: String) -> String {
        "POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// Polls `condition` every 10 ms until it holds or `timeout` passes.
    static func eventually(within timeout: Duration, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test(arguments: [false, true])
    func aDroppedRequestStopsGeneratingWithinAStep(stream: Bool) async throws {
        // 60 tokens of 1 s: a minute to the end (the fake model's context is 64 tokens).
        let backend = FakeBackend(stepDelay: .seconds(1))
        try await Self.app(backend).test(.live) { client in
            let connection = try RawConnection(port: try #require(client.port))
            connection.send(Self.request(#"{"model": "fake", "prompt": "Hi", "max_tokens": 60, "stream": \#(stream)}"#))
            #expect(try await Self.eventually(within: .seconds(60)) { backend.open.load(ordering: .relaxed) == 1 })
            try await Task.sleep(for: .milliseconds(200))
            connection.shut()
            let stopped = try await Self.eventually(within: .seconds(20)) { backend.open.load(ordering: .relaxed) == 0 }
            #expect(stopped, "the request was aborted when its client left (streaming: \(stream))")
        }
    }

    @Test func aStreamDroppedBeforeItsFirstTokenStops() async throws {
        // Nothing is written for 30 s (a long prefill or a queue): only the connection's close can tell.
        let backend = FakeBackend(stepDelay: .seconds(30))
        try await Self.app(backend).test(.live) { client in
            let connection = try RawConnection(port: try #require(client.port))
            connection.send(Self.request(#"{"model": "fake", "prompt": "Hi", "max_tokens": 2, "stream": true}"#))
            #expect(try await Self.eventually(within: .seconds(60)) { backend.open.load(ordering: .relaxed) == 1 })
            connection.shut()
            let stopped = try await Self.eventually(within: .seconds(20)) { backend.open.load(ordering: .relaxed) == 0 }
            #expect(stopped, "the stream was aborted before its first token")
        }
    }

    @Test func idleAndHalfSentConnectionsAreClosedAfterTheKeepAliveTimeout() async throws {
        // The test's own client is an idle connection too: closing it is the behaviour under test, and the test
        // harness's shutdown of it may then report I/O on a closed channel.
        do { try await idleConnectionsAreClosed() } catch ChannelError.ioOnClosedChannel {}
    }

    private func idleConnectionsAreClosed() async throws {
        try await Self.app(FakeBackend(), keepAlive: .milliseconds(500)).test(.live) { client in
            let port = try #require(client.port)
            let idle = try RawConnection(port: port)
            let slow = try RawConnection(port: port)
            let used = try RawConnection(port: port)
            used.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let slowSender = Task {
                // A header byte every 100 ms: never a complete head.
                for byte in "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
                    slow.send(String(byte))
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(try await idle.closedByServer(within: .seconds(30)), "an idle connection is closed")
            #expect(try await slow.closedByServer(within: .seconds(30)), "a header sent a byte at a time is cut off")
            #expect(try await used.closedByServer(within: .seconds(30)), "a keep-alive connection is closed once idle")
            slowSender.cancel()
            // The test's own client connection was idle too: a new one.
            let fresh = TestClient(host: "localhost", port: port, configuration: .init(timeout: .seconds(60)))
            fresh.connect()
            let response = try await fresh.get("/health")
            try? await fresh.shutdown()
            #expect(response.head.status == .ok)
        }
    }

    @Test func longPromptsAreTokenizedOnAWorkThread() async throws {
        let backend = FakeBackend()
        try await Self.app(backend).test(.router) { client in
            let prompt = String(repeating: "a", count: 40_000)
            let (status, body, _) = try await post(client, "/tokenize", #"{"model": "fake", "prompt": "\#(prompt)"}"#)
            #expect(status == .ok)
            #expect(body["count"] as? Int == 40_000)
            let (short, _, _) = try await post(client, "/tokenize", #"{"model": "fake", "prompt": "Hi"}"#)
            #expect(short == .ok)
        }
        #expect(backend.tokenizedOnWorkThread.withLock { $0 } == [true, false], "a short prompt is tokenized inline")
    }
}
