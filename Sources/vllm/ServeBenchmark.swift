import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
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

/// Streams one completion over SSE with URLSession and timestamps every chunk that carries text.
final class StreamingRequest: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = Data()
    private var timing = StreamTiming()
    private let start = Date()
    private var last: Date?
    private var chunks = 0
    private var continuation: CheckedContinuation<StreamTiming, Never>?
    private let onText: (@Sendable (String) -> Void)?

    init(onText: (@Sendable (String) -> Void)? = nil) { self.onText = onText }

    /// Sends `request` and waits for the end of its stream; `onText` sees each piece of text as it arrives.
    static func run(_ request: URLRequest, onText: (@Sendable (String) -> Void)? = nil) async -> StreamTiming {
        let handler = StreamingRequest(onText: onText)
        let session = URLSession(configuration: .ephemeral, delegate: handler, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return await withCheckedContinuation { continuation in
            handler.lock.withLock { handler.continuation = continuation }
            session.dataTask(with: request).resume()
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let now = Date()
        lock.withLock {
            buffer.append(data)
            while let newline = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                handle(line.trimmingCharacters(in: .whitespacesAndNewlines), at: now)
            }
        }
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

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.withLock {
            let status = (task.response as? HTTPURLResponse)?.statusCode ?? 0
            timing.latency = Date().timeIntervalSince(start)
            if timing.outputTokens == 0 { timing.outputTokens = chunks }
            timing.ok = error == nil && status == 200 && chunks > 0
            if !timing.ok { timing.error = error.map { "\($0)" } ?? "HTTP \(status)" }
            continuation?.resume(returning: timing)
            continuation = nil
        }
    }
}
