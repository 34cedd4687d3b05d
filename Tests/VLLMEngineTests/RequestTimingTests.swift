import Testing
import VLLMEngine

/// vLLM's request phases (`RequestTiming`, the server's `vllm:request_*_time_seconds`) on the engine loop with a
/// weightless model: a request waits while the only running slot is taken, its prefill ends at its first token and
/// its decode at its last, and only a request's last output carries them.
struct RequestTimingTests {
    @Test func finishedOutputsCarryTheirPhases() throws {
        let (core, _) = try FakeModelEngineTests.engine(blocks: 80, maxNumSeqs: 1)
        let submitted = ContinuousClock.now
        for id in 0..<2 {
            try core.add(id: id, promptTokenIDs: (0..<6).map { Int32(3 + $0 + id) }, parameters: FakeModelEngineTests.greedy(4),
                         queuedAt: submitted)
        }
        var timings: [Int: RequestTiming] = [:]
        var steps = 0
        while core.hasWork && steps < 100 {
            for output in core.step() {
                #expect((output.timing != nil) == output.isFinished, "request \(output.requestID): phases in the last output only")
                if let timing = output.timing { timings[output.requestID] = timing }
            }
            steps += 1
        }
        let first = try #require(timings[0]), second = try #require(timings[1])
        for t in [first, second] {
            #expect(t.inference == t.prefill + t.decode)
            #expect(t.prefill > .zero && t.decode > .zero && t.queued >= .zero)
        }
        // One running slot: the second request waited for the whole of the first one's run.
        #expect(second.queued >= first.inference)
        #expect(first.queued < second.queued)
    }
}
