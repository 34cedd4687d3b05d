import Foundation

/// Download progress on stderr: bytes, rate and time left, redrawn in place on a terminal, a plain line every 10%
/// (and at the end) otherwise.
final class DownloadProgress {
    private let label: String
    private let total: Int64
    private var done: Int64
    private let resumedFrom: Int64
    private let start = Date()
    private var lastTenth = -1
    private var drawn: Int64 = -1
    private let interactive = isatty(STDERR_FILENO) != 0

    init(label: String, total: Int64, resumedFrom: Int64) {
        self.label = label
        self.total = total
        done = resumedFrom
        self.resumedFrom = resumedFrom
        if resumedFrom > 0 { write("\(label): resuming at \(Self.size(resumedFrom)) of \(Self.size(total))") }
    }

    func advance(to bytes: Int64) {
        done = bytes
        let tenth = total > 0 ? Int(done * 10 / total) : 10
        if interactive || tenth != lastTenth {
            lastTenth = tenth
            draw()
        }
    }

    func finish() {
        if drawn != done { draw() }
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func draw() {
        drawn = done
        let seconds = max(Date().timeIntervalSince(start), 1e-3)
        let rate = Double(done - resumedFrom) / seconds
        let left = rate > 0 ? Double(total - done) / rate : 0
        let line = String(format: "%@: %@ / %@, %@/s, ETA %.0f s", label, Self.size(done), Self.size(total), Self.size(Int64(rate)), left)
        write(line)
    }

    private func write(_ line: String) {
        FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    static func size(_ bytes: Int64) -> String {
        let b = Double(bytes)
        if b >= 1e9 { return String(format: "%.2f GB", b / 1e9) }
        if b >= 1e6 { return String(format: "%.1f MB", b / 1e6) }
        return String(format: "%.0f kB", b / 1e3)
    }
}
