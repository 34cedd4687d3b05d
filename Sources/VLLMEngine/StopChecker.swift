/// Finds stop strings in streamed text. Text that could still be the start of a stop string is held back
/// until it cannot match; on a match the output is cut before the stop string (or after it when
/// `include_stop_str_in_output`).
public struct StopChecker: Sendable {
    public let stops: [String]
    let includeStop: Bool
    private var pending = ""
    private let holdBack: Int

    public init(stops: [String], includeStop: Bool) {
        self.stops = stops.filter { !$0.isEmpty }
        self.includeStop = includeStop
        holdBack = (self.stops.map(\.count).max() ?? 1) - 1
    }

    /// Adds decoded text; returns the text safe to emit and whether a stop string was found.
    public mutating func append(_ text: String) -> (emit: String, stopped: Bool) {
        guard !stops.isEmpty else { return (text, false) }
        pending += text
        var earliest: (range: Range<String.Index>, stop: String)?
        for stop in stops {
            if let range = pending.range(of: stop), earliest == nil || range.lowerBound < earliest!.range.lowerBound {
                earliest = (range, stop)
            }
        }
        if let (range, _) = earliest {
            let emit = String(pending[..<(includeStop ? range.upperBound : range.lowerBound)])
            pending = ""
            return (emit, true)
        }
        let keep = min(holdBack, pending.count)
        let cut = pending.index(pending.endIndex, offsetBy: -keep)
        let emit = String(pending[..<cut])
        pending = String(pending[cut...])
        return (emit, false)
    }

    /// Releases held-back text at the end of generation.
    public mutating func finish() -> String {
        defer { pending = "" }
        return pending
    }
}
