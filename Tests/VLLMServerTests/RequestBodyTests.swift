import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMChatTemplates
import VLLMServer

/// How request bodies are read: JSON as Python reads it (a repeated key keeps its last value), a malformed body is a
/// 400 that says so (only a body over the limit is a 413), and `content: null` reaches the template as vLLM hands it.
struct RequestBodyTests {
    @Test func aRepeatedKeyKeepsItsLastValue() async throws {
        try await makeApp().test(.router) { client in
            let (status, body, _) = try await post(client, "/v1/completions",
                                                   #"{"model": "fake", "prompt": "Hi", "max_tokens": 20, "max_tokens": 3, "stop": ["x"], "stop": [" w"]}"#)
            #expect(status == .ok)
            #expect((body["choices"] as? [[String: Any]])?.first?["text"] as? String == "hel", "max_tokens 3 wins")
        }
    }

    @Test func repeatedKeysInsideMessagesKeepTheLastToo() async throws {
        let backend = FakeBackend(chat: try ChatFormatter(source: ChatTemplateErrorTests.plain, bosToken: "", eosToken: ""))
        try await makeApp(backend: backend).test(.router) { client in
            let (status, _, _) = try await post(client, "/v1/chat/completions",
                                                #"{"messages": [{"role": "user", "content": "A", "content": "B"}], "max_tokens": 1}"#)
            #expect(status == .ok)
            #expect(backend.lastChatPrompt.withLock { $0 } == "<user>B<assistant>")
        }
    }

    @Test(arguments: [
        ("", "expecting a value"), ("{", "expecting a property name"), (#"{"a": 1,}"#, "expecting a property name"),
        (#"{"a": 01}"#, "expecting ',' delimiter"), (#"{"a": 1e400}"#, "number out of range"), (#"{"a": NaN}"#, "expecting a value"),
        (#"{"a": "\x"}"#, "invalid \\escape"), ("{\"a\": \"\u{01}\"}", "invalid control character"), (#"{"a": 1} x"#, "extra data"),
        (String(repeating: "[", count: 100_000), "nested more than 512 levels"),
    ])
    func malformedJSONIs400(_ text: String, _ reason: String) async throws {
        try await makeApp().test(.router) { client in
            let (status, body, _) = try await post(client, "/v1/completions", text)
            #expect(status == .badRequest)
            let message = (body["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.hasPrefix("The request body is not valid JSON: ") && message.contains(reason), "\(message)")
        }
    }

    @Test func stringsDecodeEscapesAndSurrogatePairs() async throws {
        try await makeApp().test(.router) { client in
            let (_, body, _) = try await post(client, "/tokenize", #"{"prompt": "\u00e9\ud83d\ude00\n\"\/"}"#)
            #expect(body["tokens"] as? [Int] == "é😀\n\"/".utf8.map { Int($0) })
            let invalidUTF8 = ByteBuffer(bytes: Array(#"{"prompt": ""#.utf8) + [0xFF] + Array(#""}"#.utf8))
            try await client.execute(uri: "/tokenize", method: .post, body: invalidUTF8) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("invalid UTF-8"))
            }
        }
    }

    /// A body over the limit is still 413 with the limit in the message.
    @Test func anOversizedBodyIs413() async throws {
        try await makeApp().test(.router) { client in
            let body = ByteBuffer(repeating: UInt8(ascii: " "), count: (64 << 20) + 1)
            try await client.execute(uri: "/v1/completions", method: .post, body: body) { response in
                #expect(response.status == .contentTooLarge)
                #expect(String(buffer: response.body).contains("larger than 67108864 bytes"))
            }
        }
    }

    /// Over a real socket: a chunk size that is not hexadecimal was answered 413 "larger than 67108864 bytes".
    @Test func aMalformedChunkedBodyIsNotReportedAsTooLarge() async throws {
        try await makeApp().test(.live) { client in
            let port = try #require(client.port)
            let request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\n{\"pro\r\nzz\r\nmpt\r\n0\r\n\r\n"
            let connection = try RawConnection(port: port)
            connection.send(request)
            let reply = try await connection.reply(within: .seconds(60))
            #expect(!reply.contains("413") && !reply.contains("67108864"), "\(reply)")
            #expect(reply.hasPrefix("HTTP/1.1 400 "), "\(reply)")
            #expect(reply.contains("The request body could not be read: invalid character in chunk size header"), "\(reply)")
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }
}
