import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to a live test server, for what an HTTP client library hides: sending half a request,
/// closing mid-request, noticing that the server closed.
final class RawConnection: Sendable {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit { close(fd) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Closes the connection (the client going away).
    func shut() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// Whether the server closed the connection within `timeout` (reads and drops whatever it sent before). Polls
    /// without blocking: the server under test needs the cooperative threads to answer.
    func closedByServer(within timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&descriptor, 1, 0) > 0 {
                if recv(fd, &buffer, buffer.count, 0) <= 0 { return true }
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        return false
    }

    /// What the server answered: read until a whole response (headers and a body of its Content-Length) or the
    /// server's close, at most `timeout`; polls without blocking, as `closedByServer`.
    func reply(within timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline && !Self.complete(reply) {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&descriptor, 1, 0) > 0 {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                reply += buffer[0..<n]
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
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
