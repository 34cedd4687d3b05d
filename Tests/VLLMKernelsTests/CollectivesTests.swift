import Foundation
import Synchronization
import Testing
import VLLMKernels

/// The shared memory transport of tensor parallelism, with each rank on a thread of its own, and the core binding.
@Suite struct CollectivesTests {
    /// Ranks of one segment; tiny slots, so that every collective runs in several rounds.
    static func group(size: Int, slotFloats: Int = 5) throws -> [SharedMemoryCommunicator] {
        let path = "/dev/shm/vllm-tp-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let ranks = try (0..<size).map { try SharedMemoryCommunicator(path: path, rank: $0, size: size, create: $0 == 0, messageCapacity: 4096, slotFloats: slotFloats) }
        ranks[0].unlink()
        return ranks
    }

    /// Runs `body(rank)` on one thread per rank and returns each rank's result.
    static func onThreads<T: Sendable>(_ size: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, any Error>] {
        let results = Mutex<[Result<T, any Error>?]>(Array(repeating: nil, count: size))
        let done = DispatchGroup()
        for rank in 0..<size {
            done.enter()
            Thread.detachNewThread {
                let result = Result { try body(rank) }
                results.withLock { $0[rank] = result }
                done.leave()
            }
        }
        done.wait()
        return results.withLock { $0.map { $0! } }
    }

    @Test(arguments: [2, 3])
    func allReduceGatherAndBroadcastAgreeWithTheirDefinitions(_ size: Int) throws {
        let ranks = try Self.group(size: size)
        let results = Self.onThreads(size) { rank -> [[Float]] in
            let me = ranks[rank]
            var out: [[Float]] = []
            for round in 0..<20 {
                // All-reduce of 23 values (five rounds of a 5-float slot): rank r contributes r + i + round.
                var values = (0..<23).map { Float(rank + $0 + round) }
                try values.withUnsafeMutableBufferPointer { b throws(CommunicatorError) in try me.allReduceSum(b) }
                out.append(values)
                // Gather of parts of different lengths, rank r's holding 3r + 4 values r * 100 + i.
                let counts = (0..<size).map { 3 * $0 + 4 }
                let part = (0..<counts[rank]).map { Float(rank * 100 + $0 + round) }
                var into = [Float](repeating: .nan, count: counts.reduce(0, +))
                try part.withUnsafeBufferPointer { p throws(CommunicatorError) in
                    if rank == 0 {
                        try into.withUnsafeMutableBufferPointer { i throws(CommunicatorError) in try me.gather(p, counts: counts, into: i) }
                    } else {
                        try me.gather(p, counts: counts, into: nil)
                    }
                }
                if rank == 0 { out.append(into) }
                let message = try me.broadcast(rank == 0 ? Array("step \(round)".utf8) : [])
                out.append(message.map(Float.init))
            }
            return out
        }
        for (rank, result) in results.enumerated() {
            let out = try result.get()
            var k = 0
            for round in 0..<20 {
                let expected = (0..<23).map { i in (0..<size).reduce(Float(0)) { $0 + Float($1 + i + round) } }
                #expect(out[k] == expected, "rank \(rank) round \(round) all-reduce"); k += 1
                if rank == 0 {
                    let gathered = (0..<size).flatMap { r in (0..<(3 * r + 4)).map { Float(r * 100 + $0 + round) } }
                    #expect(out[k] == gathered, "round \(round) gather"); k += 1
                }
                #expect(out[k] == Array("step \(round)".utf8).map(Float.init), "rank \(rank) round \(round) broadcast"); k += 1
            }
        }
    }

    /// A rank that is gone ends the others' waits with an error instead of a hang.
    @Test func abortEndsEveryWait() throws {
        let ranks = try Self.group(size: 2)
        let results = Self.onThreads(2) { rank -> Bool in
            if rank == 1 { ranks[1].abort(); return true }
            var values: [Float] = [1, 2]
            do {
                try values.withUnsafeMutableBufferPointer { b throws(CommunicatorError) in try ranks[0].allReduceSum(b) }
                return false
            } catch {
                return "\(error)".contains("aborted")
            }
        }
        #expect(try results.map { try $0.get() } == [true, true])
    }

    @Test func bindingParsesVLLMsSyntax() throws {
        #expect(try CPUBinding("auto", size: 2, allowed: [0, 1, 2, 3], nodes: [[0, 1, 2, 3]]).ranks == [[0, 1], [2, 3]])
        // A rank per NUMA node where there are enough (vLLM's auto), cores numbered across nodes as they come.
        #expect(try CPUBinding("auto", size: 2, allowed: [0, 1, 2, 3], nodes: [[0, 2], [1, 3]]).ranks == [[0, 2], [1, 3]])
        #expect(try CPUBinding(nil, size: 2, allowed: [1, 2, 3], nodes: [[0, 2], [1, 3]]).ranks == [[2], [1, 3]])
        #expect(!CPUBinding.numaNodes().isEmpty && CPUBinding.numaNodes()[0].contains(0))
        #expect(try CPUBinding(nil, size: 2, allowed: [4, 5], nodes: []).ranks == [[4], [5]])
        #expect(try CPUBinding("0-1|2,3", size: 2).ranks == [[0, 1], [2, 3]])
        #expect(try CPUBinding("all", size: 2).cores(rank: 1) == nil)
        #expect(throws: CommunicatorError.self) { try CPUBinding("0-3", size: 2) }
        #expect(throws: CommunicatorError.self) { try CPUBinding("0-x|1", size: 2) }
        #expect(throws: CommunicatorError.self) { try CPUBinding("auto", size: 3, allowed: [0, 1], nodes: [[0, 1]]) }
    }
}
