import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One streamed request's timings, as `vllm bench serve` records them.
struct StreamTiming: Sendable {
    var ok = false
    var error: String?
    var ttft: Double = 0
    var itl: [Double] = []
    var latency: Double = 0
    var outputTokens = 0
    var promptTokens = 0
}

/// Streams one completion over SSE on a plain blocking socket (HTTP/1.1, chunked or plain body) on a thread of
/// its own, and timestamps every chunk that carries text. A load client must stay light on a 2-core machine it
/// shares with the server: URLSession on Linux spent 0.75 of a core on a single stream.
final class StreamingRequest: @unchecked Sendable {
    private var timing = StreamTiming()
    private let start = Date()
    private var last: Date?
    private var chunks = 0
    private let onText: (@Sendable (String) -> Void)?

    private init(onText: (@Sendable (String) -> Void)?) { self.onText = onText }

    /// Sends `request` (an http:// URL) and waits for the end of its stream; `onText` sees each piece of text.
    static func run(_ request: URLRequest, onText: (@Sendable (String) -> Void)? = nil) async -> StreamTiming {
        let handler = StreamingRequest(onText: onText)
        return await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: handler.perform(request)) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func fail(_ message: String) -> StreamTiming {
        timing.ok = false
        timing.error = message
        timing.latency = Date().timeIntervalSince(start)
        return timing
    }

    private func perform(_ request: URLRequest) -> StreamTiming {
        guard let url = request.url, url.scheme == "http", let host = url.host else { return fail("only http:// URLs are supported") }
        let port = url.port ?? 80
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let first = info else { return fail("cannot resolve \(host)") }
        defer { freeaddrinfo(info) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return fail("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else { return fail("connect: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let body = request.httpBody ?? Data()
        var head = "\(request.httpMethod ?? "GET") \(url.path.isEmpty ? "/" : url.path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        for (name, value) in request.allHTTPHeaderFields ?? [:] where name.lowercased() != "content-length" { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let message = Data(head.utf8) + body
        let sent = message.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = send(fd, raw.baseAddress! + offset, raw.count - offset, 0)
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        guard sent else { return fail("send: \(String(cString: strerror(errno)))") }
        var decoder = HTTPStreamDecoder()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 { return fail("recv: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            let now = Date()
            for line in decoder.feed(chunk[0..<n]) { handle(line, at: now) }
            if decoder.finished { break }
        }
        timing.latency = Date().timeIntervalSince(start)
        if timing.outputTokens == 0 { timing.outputTokens = chunks }
        timing.ok = decoder.status == 200 && chunks > 0
        if !timing.ok { timing.error = decoder.status == 200 ? "no text in the stream" : "HTTP \(decoder.status)" }
        return timing
    }

    private func handle(_ line: String, at now: Date) {
        guard line.hasPrefix("data:") else { return }
        let payload = line.dropFirst(5).trimmingCharacters(in: .whitespaces)
        if payload == "[DONE]" { return }
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { return }
        if let usage = object["usage"] as? [String: Any] {
            timing.outputTokens = usage["completion_tokens"] as? Int ?? timing.outputTokens
            timing.promptTokens = usage["prompt_tokens"] as? Int ?? timing.promptTokens
        }
        let choices = object["choices"] as? [[String: Any]] ?? []
        let text = choices.compactMap { ($0["text"] as? String) ?? (($0["delta"] as? [String: Any])?["content"] as? String) }.joined()
        guard !text.isEmpty else { return }
        onText?(text)
        chunks += 1
        if let last { timing.itl.append(now.timeIntervalSince(last)) } else { timing.ttft = now.timeIntervalSince(start) }
        last = now
    }
}
