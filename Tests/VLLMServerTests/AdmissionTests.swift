import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMEngine
import VLLMServer

/// `/version`, `/load`, `/health`, and the 503s: an overloaded waiting queue, a draining or dead engine, and
/// requests the engine stops under them.
struct AdmissionTests {
    static func app(_ backend: FakeBackend, maxWaiting: Int = 1024) -> some ApplicationProtocol {
        var configuration = ServerConfiguration()
        configuration.servedModelNames = ["fake"]
        configuration.maxWaitingRequests = maxWaiting
        configuration.version = "9.8.7"
        return Application(router: OpenAIServer.router(ServerContext(backend: backend, configuration: configuration)))
    }

    static let completion = #"{"model": "fake", "prompt": "Hi", "max_tokens": 3}"#

    @Test func versionAndLoadReportTheServer() async throws {
        let backend = FakeBackend()
        backend.state.withLock { $0.running = 3; $0.waiting = 4 }
        try await Self.app(backend).test(.router) { client in
            try await client.execute(uri: "/version", method: .get) { response in
                #expect(response.status == .ok)
                #expect(json(response.body)["version"] as? String == "9.8.7")
            }
            try await client.execute(uri: "/load", method: .get) { response in
                #expect(json(response.body)["server_load"] as? Int == 7, "running plus waiting requests")
            }
        }
    }

    @Test func aFullWaitingQueueGets503AndTheBoundIsConfigurable() async throws {
        let backend = FakeBackend()
        backend.state.withLock { $0.waiting = 5 }
        try await Self.app(backend, maxWaiting: 6).test(.router) { client in
            let (below, _, _) = try await post(client, "/v1/completions", Self.completion)
            #expect(below == .ok, "5 waiting is under a bound of 6")
        }
        try await Self.app(backend, maxWaiting: 5).test(.router) { client in
            let chat = #"{"model": "fake", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3}"#
            for (uri, body) in [("/v1/completions", Self.completion), ("/v1/chat/completions", chat)] {
                let (status, reply, _) = try await post(client, uri, body)
                #expect(status == .serviceUnavailable)
                let error = reply["error"] as? [String: Any]
                #expect(error?["code"] as? Int == 503 && error?["type"] as? String == "ServiceUnavailableError")
                #expect((error?["message"] as? String)?.contains("5 requests are waiting") == true)
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok, "overload is not ill health") }
        }
        #expect(backend.open.load(ordering: .relaxed) == 0, "a refused request never reaches the engine")
    }

    @Test(arguments: [false, true])
    func aDrainingOrDeadEngineRefusesWork(dead: Bool) async throws {
        let backend = FakeBackend()
        backend.state.withLock { if dead { $0.isAlive = false } else { $0.isAcceptingRequests = false } }
        try await Self.app(backend).test(.router) { client in
            let (status, body, _) = try await post(client, "/v1/completions", Self.completion)
            #expect(status == .serviceUnavailable)
            let message = (body["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains(dead ? "not running" : "shutting down"))
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect((json(response.body)["error"] as? [String: Any])?["code"] as? Int == 503)
            }
            try await client.execute(uri: "/v1/models", method: .get) { #expect($0.status == .ok, "information stays available") }
        }
    }

    @Test func aRequestStoppedByShutdownGets503() async throws {
        try await Self.app(FakeBackend(stopAfter: 2)).test(.router) { client in
            let (status, body, _) = try await post(client, "/v1/completions", Self.completion)
            #expect(status == .serviceUnavailable)
            #expect(((body["error"] as? [String: Any])?["message"] as? String)?.contains("shutting down") == true)

            let (streamStatus, _, raw) = try await post(client, "/v1/completions",
                                                        #"{"model": "fake", "prompt": "Hi", "max_tokens": 5, "stream": true}"#)
            #expect(streamStatus == .ok, "the status line left before the engine stopped")
            let events = raw.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.last == "data: [DONE]")
            let bodies = events.dropLast().map { json(ByteBuffer(string: String($0.dropFirst("data: ".count)))) }
            let text = bodies.compactMap { ($0["choices"] as? [[String: Any]])?.first?["text"] as? String }.joined()
            #expect(text == "he", "the two tokens made before the stop")
            #expect((bodies.last?["error"] as? [String: Any])?["code"] as? Int == 503)
        }
    }
}
