import Foundation
import Testing
import VLLMEngine

/// `EngineCore` over a tiny random Llama (the 2-layer fixture of VLLMModelsTests, fast even in a debug build)
/// with a made-up 320-token vocabulary, under a workload that exercises every path that moves blocks: chunked
/// prefill, prefix-cache hits, preemption, stop strings, end-of-generation ids and aborts. Debug builds check
/// the scheduler and block-pool invariants after every step and abort (and stop at the first violation);
/// release builds must not pay for the check.
struct EngineInvariantTests {
    /// The tiny model's files plus a tokenizer.json whose tokens are "t0" ... "t319", in a fresh directory.
    static func tinyModelDirectory() throws -> String {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("VLLMModelsTests/Fixtures/hf-tiny/llama")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engine-invariants-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for file in ["config.json", "generation_config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: fixture.appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        var vocabulary: [String: Int] = [:]
        for id in 0..<320 { vocabulary["t\(id)"] = id }
        let tokenizer: [String: Any] = [
            "model": ["type": "BPE", "vocab": vocabulary, "merges": [String]()],
            "pre_tokenizer": ["type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "never"],
        ]
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: directory.appendingPathComponent("tokenizer.json"))
        return directory.path
    }

    @Test func invariantsAreCheckedAfterEveryStepInDebugBuilds() throws {
        var options = EngineOptions()
        options.threads = 1
        options.blockSize = 4
        options.maxNumBatchedTokens = 32  // forces chunked prefill of the longer prompts
        options.kvCacheSpaceGiB = 5e-5  // 26 blocks of 4 tokens (2 KiB each) for eight requests of up to 77 tokens
        options.maxModelLength = 100  // the cache must hold one max-length sequence (104 tokens)
        let directory = try Self.tinyModelDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let core = try EngineCore.load(model: directory, options: options)

        let shared: [Int32] = (0..<12).map { Int32(40 + $0) }
        for id in 0..<8 {
            var p = SamplingParameters(temperature: 1, maxTokens: 20 + (id * 5) % 19, seed: UInt64(id))
            p.ignoreEOS = id % 4 != 0  // requests 0 and 4 may end on the model's end-of-generation id
            if id % 3 == 1 { p.stop = ["t1"] }  // any token from t1 to t199 starting with "1" ends these early
            let own = (0..<(3 + (id * 7) % 25)).map { Int32((id * 37 + $0 * 11) % 300 + 10) }
            try core.add(id: id, promptTokenIDs: (id % 2 == 0 ? shared : []) + own, parameters: p)
        }
        var steps = 0, aborts = 0
        var finished: [Int: FinishReason] = [:]
        while core.hasWork {
            for output in core.step() { if let reason = output.finishReason { finished[output.requestID] = reason } }
            steps += 1
            if steps == 6 {
                for id in [3, 6] where finished[id] == nil {
                    core.abort(id: id)
                    aborts += 1
                }
            }
            #expect(steps < 10_000, "the workload must end")
        }
        #expect(core.scheduler.preemptionCount > 0, "the small KV budget must force preemptions")
        #expect(core.scheduler.cache.prefixHitTokens > 0, "the shared prefix must hit the cache")
        #expect(aborts > 0, "requests 3 and 6 are still running at step 6")
        #expect(finished.count + aborts == 8, "every request either finished or was aborted")
        #expect(core.scheduler.cache.pool.freeCount == core.kvCacheBlockCount, "no block is still referenced")
        #expect(core.scheduler.cache.blockTables.isEmpty)
        #if DEBUG
        #expect(core.invariantCheckCount == steps + aborts, "one check after every step and every abort")
        #else
        #expect(core.invariantCheckCount == 0, "release builds skip the check")
        #endif
    }

    @Test func aRequestIDInUseIsRefused() throws {
        let directory = try Self.tinyModelDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let core = try EngineCore.load(model: directory, options: EngineOptions())
        try core.add(id: 7, promptTokenIDs: [5, 6, 7], parameters: SamplingParameters())
        #expect(throws: EngineError("request id 7 is already in use")) {
            try core.add(id: 7, promptTokenIDs: [8], parameters: SamplingParameters())
        }
    }
}
