#if canImport(Glibc)
import Glibc
#endif

/// The collectives tensor-parallel ranks run (vLLM's `GroupCoordinator`): rank 0 broadcasts each step's batch, and
/// every rank sums its partial results with the others' after attention and after the MLP.
///
/// Calls are collective: every rank makes the same calls in the same order, from one thread at a time.
public protocol Communicator: AnyObject, Sendable {
    /// This process's rank, 0 being the one that schedules and samples.
    var rank: Int { get }
    /// The number of ranks.
    var size: Int { get }
    /// Rank 0 sends `message`; the other ranks receive it (their argument is ignored). Throws when a rank is gone.
    func broadcast(_ message: [UInt8]) throws(CommunicatorError) -> [UInt8]
    /// Replaces `values` on every rank with the sum over all ranks, the same bits on each. Throws when a rank is gone.
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws(CommunicatorError)
    /// Rank 0 receives every rank's `part` (rank r's holds `counts[r]` floats; every rank passes the same `counts`)
    /// concatenated in rank order into `into`; the other ranks pass nil and do not wait for rank 0. Throws when a rank
    /// is gone.
    func gather(_ part: UnsafeBufferPointer<Float>, counts: [Int], into: UnsafeMutableBufferPointer<Float>?) throws(CommunicatorError)
    /// What this rank's collectives cost so far.
    var statistics: CollectiveStatistics { get }
}

/// A rank left the group (its process died) or the transport failed; the group cannot compute any more.
public struct CommunicatorError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Counts and times the all-reduces of a communicator (the cost issue 27 asks to report), cumulatively.
public struct CollectiveStatistics: Sendable {
    public var allReduces = 0
    public var allReducedFloats = 0
    public var allReduceSeconds = 0.0
    /// The fastest all-reduce: about the transport's own cost (both ranks arriving together).
    public var allReduceMinSeconds = Double.infinity
    public var gathers = 0
    public var gatherSeconds = 0.0
    public var broadcasts = 0
    public var broadcastBytes = 0
    public var broadcastSeconds = 0.0
    public init() {}

    /// Monotonic seconds, for timing collectives.
    public static func clock() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Records one all-reduce of `floats` values that took `seconds`.
    public mutating func recordAllReduce(floats: Int, seconds: Double) {
        allReduces += 1
        allReducedFloats += floats
        allReduceSeconds += seconds
        allReduceMinSeconds = min(allReduceMinSeconds, seconds)
    }
}
