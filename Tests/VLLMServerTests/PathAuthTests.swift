import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMServer

/// With `--api-key`, no spelling of a path may reach a `/v1` route without the key. Hummingbird's router skips empty
/// path segments, so `//v1/completions` (as `curl --path-as-is` sends it) reached `/v1/completions` while the key
/// check, reading the raw path's prefix, let it through: 200 without a key. vLLM answers 404 for such forms.
struct PathAuthTests {
    static let body = #"{"prompt": "x", "max_tokens": 1}"#

    @Test(arguments: [
        "//v1/completions", "///v1/completions", "/v1//completions", "/v1/completions/", "/./v1/completions",
        "/v1/./completions", "/x/../v1/completions", "/v1/../v1/completions", "v1/completions", "/v1%2Fcompletions",
        "/v1%2fcompletions", "/%2e/v1/completions", "/v1/%2e/completions", "http://localhost//v1/completions",
    ])
    func oddSpellingsOfAPathAreNotFound(_ path: String) async throws {
        try await makeApp(apiKeys: ["secret"]).test(.router) { client in
            for headers: HTTPFields in [[:], [.authorization: "Bearer secret"]] {
                let (status, body, _) = try await post(client, path, Self.body, headers: headers)
                #expect(status == .notFound, "\(path) with \(headers.count) header(s)")
                let error = body["error"] as? [String: Any]
                #expect(error?["code"] as? Int == 404 && error?["type"] as? String == "NotFoundError", "\(path): \(body)")
            }
        }
    }

    @Test(arguments: ["/v1/completions", "/V1/completions", "/v1/chat/completions", "/v1/models", "/v1/nothing"])
    func everyV1PathNeedsTheKey(_ path: String) async throws {
        try await makeApp(apiKeys: ["secret"]).test(.router) { client in
            let (status, body, _) = try await post(client, path, Self.body)
            #expect(status == .unauthorized, "\(path)")
            #expect((body["error"] as? [String: Any])?["type"] as? String == "authentication_error")
        }
    }

    @Test func withoutKeysOddSpellingsAreStillNotFound() async throws {
        try await makeApp().test(.router) { client in
            let (status, _, _) = try await post(client, "//v1/completions", Self.body)
            #expect(status == .notFound)
            let (ok, _, _) = try await post(client, "/v1/completions", Self.body)
            #expect(ok == .ok)
        }
    }

    /// Over a real socket, through the HTTP parser, as the report's `curl --path-as-is -X POST //v1/completions`.
    @Test func aDoubledSlashOverTheWireIsNotFound() async throws {
        try await makeApp(apiKeys: ["secret"]).test(.live) { client in
            for path in ["//v1/completions", "/v1//completions"] {
                let response = try await client.execute(uri: path, method: .post, body: ByteBuffer(string: Self.body)) { $0 }
                #expect(response.status == .notFound, "\(path)")
                #expect((json(response.body)["error"] as? [String: Any])?["code"] as? Int == 404)
            }
            let response = try await client.execute(uri: "/v1/completions", method: .post, body: ByteBuffer(string: Self.body)) { $0 }
            #expect(response.status == .unauthorized)
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }
}
