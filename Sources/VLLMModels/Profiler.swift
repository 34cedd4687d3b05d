#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time per named phase, summed over many calls (`--profile`). The owner calls `start()` once,
/// then `lap(phase)` at the end of each phase: the time since the previous lap is charged to `phase`, so
/// every nanosecond between laps belongs to exactly one phase. One thread at a time (the engine loop).
public final class Profiler {
    private var phases: [String] = []
    private var totals: [String: UInt64] = [:]
    private var mark: UInt64 = 0
    /// Engine steps counted by the owner, for per-step averages.
    public var steps = 0

    public init() {}

    /// Starts timing from now (the next lap measures from here).
    public func start() { mark = Self.now() }

    /// Charges the time since the last lap (or `start()`) to `phase`.
    public func lap(_ phase: String) {
        let t = Self.now()
        if totals[phase] == nil { phases.append(phase) }
        totals[phase, default: 0] &+= t &- mark
        mark = t
    }

    /// Total seconds charged to each phase, in first-seen order.
    public var seconds: [(phase: String, seconds: Double)] {
        phases.map { ($0, Double(totals[$0]!) / 1e9) }
    }

    /// A table of phases: total ms, ms per step, share of all profiled time.
    public func report() -> String {
        let all = seconds.reduce(0) { $0 + $1.seconds }
        var lines = ["phase                          total ms   ms/step   share"]
        for (phase, s) in seconds {
            let perStep = steps > 0 ? s * 1000 / Double(steps) : 0
            lines.append(phase.padding(28) + Self.format(s * 1000, 11, 1) + Self.format(perStep, 10, 3)
                         + Self.format(all > 0 ? 100 * s / all : 0, 7, 1) + "%")
        }
        lines.append("total".padding(28) + Self.format(all * 1000, 11, 1) + "   (\(steps) steps)")
        return lines.joined(separator: "\n")
    }

    private static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    private static func format(_ value: Double, _ width: Int, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = "\(rounded)"
        if let dot = text.firstIndex(of: ".") {
            let have = text.distance(from: dot, to: text.endIndex) - 1
            if have < decimals { text += String(repeating: "0", count: decimals - have) }
        }
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}

private extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
