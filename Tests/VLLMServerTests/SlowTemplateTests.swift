import Foundation
import Synchronization
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMChatTemplates
import VLLMServer

/// Rendering runs on the template threads, off the HTTP event loop and Swift's cooperative threads: two
/// pathological renders at once used to take every thread of a two-core machine and starve `/health`.
struct SlowTemplateTests {
    /// 100,000 scans of the 1 MB message: far more than the 20 s time limit, with no loop or size limit to stop it
    /// earlier. The limit is long so that the renders still run while a loaded machine answers the health checks.
    static let slow = "{% for i in range(100000) %}{% if 'b' in messages[0].content %}b{% endif %}{% endfor %}"

    /// A responsiveness check, so it runs alone (VLLM_TEST_TIMING=1): beside the whole suite's model tests on two
    /// cores its requests time out. tests/e2e/test_template_sandbox.py checks the same against the real server.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["VLLM_TEST_TIMING"] == "1", "set VLLM_TEST_TIMING=1"))
    func healthAnswersWhileTwoSlowRendersRunAndTheyEndAtTheirTimeLimit() async throws {
        var limits = TemplateLimits()
        limits.timeLimit = .seconds(20)
        let app = try ChatTemplateErrorTests.app(Self.slow, limits: limits)
        let content = String(repeating: "a", count: 1_000_000)
        let messages = #"[{"role": "user", "content": "\#(content)"}]"#
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let finished = Finished()
            async let first = Self.post(port: port, "/v1/chat/completions", #"{"model": "fake", "messages": \#(messages), "max_tokens": 2}"#, finished)
            async let second = Self.post(port: port, "/tokenize", #"{"model": "fake", "messages": \#(messages)}"#, finished)
            try await Task.sleep(for: .milliseconds(300))
            var latencies: [Duration] = []
            for _ in 0..<5 {
                let sent = ContinuousClock.now
                try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
                latencies.append(ContinuousClock.now - sent)
            }
            let rendering = finished.count.load(ordering: .relaxed) == 0
            let (firstStatus, firstMessage) = try await first
            let (secondStatus, secondMessage) = try await second
            latencies.sort()
            #expect(rendering, "the health checks ran while both renders did")
            // /health did not wait for the renders: every answer came while both still ran (`rendering`), and the median
            // well inside the renders' 20 s. The whole suite runs model tests beside this one on two cores, so this is
            // no latency figure (alone it measures about 1 ms; other tests may hold the threads that serve requests).
            #expect(latencies[2] < .seconds(2), "median /health latency \(latencies[2]) (all: \(latencies))")
            for (status, message) in [(firstStatus, firstMessage), (secondStatus, secondMessage)] {
                #expect(status == .internalServerError)
                #expect(message.contains("time limit"), "\(message)")
            }
        }
    }

    final class Finished: Sendable {
        let count = Atomic<Int>(0)
    }

    /// One request on its own connection: the status and the error message.
    static func post(port: Int, _ uri: String, _ body: String, _ finished: Finished) async throws -> (HTTPResponse.Status, String) {
        defer { finished.count.add(1, ordering: .relaxed) }
        let client = TestClient(host: "localhost", port: port, configuration: .init(timeout: .seconds(30)))
        client.connect()
        let response: TestClient.Response
        do {
            response = try await client.post(uri, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
        } catch {
            try? await client.shutdown()
            throw error
        }
        try? await client.shutdown()
        let error = json(response.body ?? ByteBuffer())["error"] as? [String: Any]
        return (response.head.status, error?["message"] as? String ?? "")
    }
}
