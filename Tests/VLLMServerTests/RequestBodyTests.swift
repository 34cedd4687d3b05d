import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMChatTemplates
import VLLMServer

#if canImport(Glibc)
import Glibc
#endif

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
            let reply = try await RawHTTP.exchangeOffPool(port: port, request)
            #expect(!reply.contains("413") && !reply.contains("67108864"), "\(reply)")
            #expect(reply.hasPrefix("HTTP/1.1 400 "), "\(reply)")
            #expect(reply.contains("The request body could not be read: invalid character in chunk size header"), "\(reply)")
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }
}

/// One request over a plain TCP socket, for bytes no HTTP client would send; returns what the server answered
/// before closing (or within 60 seconds).
enum RawHTTP {
    /// `exchange` on a thread of its own: its blocking reads must not hold one of the few cooperative threads the
    /// server's handlers need (beside the whole suite on two cores, they waited out the read timeout).
    static func exchangeOffPool(port: Int, _ request: String) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try exchange(port: port, request) }) }.start()
        }
    }

    static func exchange(port: Int, _ request: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            reply += buffer[0..<n]
            if complete(reply) { break }
        }
        return String(decoding: reply, as: UTF8.self)
    }

    /// Whether `reply` holds a whole response: headers and a body of its Content-Length.
    static func complete(_ reply: [UInt8]) -> Bool {
        let text = String(decoding: reply, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let length = text[..<end.lowerBound].split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
        guard let length else { return false }
        return text[end.upperBound...].utf8.count >= length
    }
}
