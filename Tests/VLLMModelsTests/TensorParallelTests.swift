import CVLLMKernels
import Foundation
import Testing
import VLLMKernels
import VLLMModelFormats
import VLLMModels

/// Tensor parallelism in one process: rank 0's shard in the test's thread, the others' on threads of their own, all
/// talking through a real shared memory segment (the `mp` backend's transport, without the processes).
enum TensorParallelHarness {
    /// Rank 0's model of a group of `size` ranks over `path`; the other ranks run until it is released.
    static func load(_ path: String, size: Int, dtype: ComputeDType = .auto) throws -> TensorParallelModel {
        let segment = "/dev/shm/vllm-tp-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let communicators = try (0..<size).map { rank in
            try SharedMemoryCommunicator(path: segment, rank: rank, size: size, create: rank == 0, spin: 20000)  // ranks share cores here
        }
        communicators[0].unlink()
        let location: ModelLocation = path.hasSuffix(".gguf") ? .gguf(path: path) : .huggingFaceDirectory(path: path)
        let isa = vk_get_isa()
        let models = try (0..<size).map { rank in
            try ModelLoader.load(location, pool: ThreadPool(threadCount: 1), dtype: dtype,
                                 shard: TensorParallelShard(rank: rank, size: size, communicator: communicators[rank]))
        }
        for rank in 1..<size {
            let worker = TensorParallelWorker(model: models[rank], communicator: communicators[rank])
            Thread.detachNewThread {
                vk_set_isa(isa)  // the test's ISA pin, on this rank's thread too
                try? worker.run()
            }
        }
        return TensorParallelModel(shard: models[0], communicator: communicators[0])
    }
}

@Suite(.serialized)
struct TensorParallelTests {
    static let f16 = ModelHarness.cache + "/models/quant-matrix/Qwen2.5-Coder-0.5B-Instruct.F16.gguf"

    /// With float weights the shards' partial sums only reorder additions: every logit within 1e-2 of the whole
    /// model's (logits span about 40), the same argmax everywhere. SmolLM2's 3 KV heads split 1 + 2 (uneven), Qwen's 2
    /// split 1 + 1. With quantized weights (SmolLM2's Q4_1) a reordered sum can flip an activation's int8 rounding: the
    /// logits then move as much as between our own scalar and AVX-512 paths (up to about 1 on this prompt, measured),
    /// so only the argmax is compared here and llama.cpp is the reference below.
    @Test(arguments: [ModelHarness.defaultModelPath, f16])
    func shardsSumToTheWholeModel(_ path: String) throws {
        try #require(FileManager.default.fileExists(atPath: path), "\(path) absent: tools/test.sh fetches it")
        let tokens: [Int32] = [1, 4093, 198, 19161, 253, 421, 30614, 563, 260, 3426, 30, 2, 198, 1, 520, 9531, 198]
        let whole = try ModelHarness.load(path, threads: 1)
        let parallel = try TensorParallelHarness.load(path, size: 2)
        #expect(parallel.configuration.kvHeadCount < whole.configuration.kvHeadCount)
        let table = (0..<Int32(4)).map { $0 }
        let a = ModelHarness.allLogits(whole, tokens, cache: ModelHarness.cache(for: whole), blockTable: table)
        let b = ModelHarness.allLogits(parallel, tokens, cache: ModelHarness.cache(for: parallel), blockTable: table)
        var worst: Float = 0, argmaxEqual = 0
        for (x, y) in zip(a, b) {
            worst = max(worst, zip(x, y).map { abs($0 - $1) }.max()!)
            if ModelHarness.argmax(x) == ModelHarness.argmax(y) { argmaxEqual += 1 }
        }
        print("[tensor-parallel] \((path as NSString).lastPathComponent): max |Δlogit| \(worst), argmax equal \(argmaxEqual)/\(a.count)")
        if path.hasSuffix("F16.gguf") { #expect(worst < 1e-2) }
        #expect(argmaxEqual == a.count)
    }

    /// Issue 27's criterion, with llama.cpp as the reference: two ranks on the same file meet issue 22's fidelity
    /// criteria (top-1 agreement, disagreements and greedy partings only at near-ties). The Qwen file mixes 32- and
    /// 256-wide block types (its intermediate features split at a Q4_K/Q6_K block); SmolLM2's heads split unevenly.
    /// SmolLM2 drifts from llama.cpp in one process too (QuantMatrixTests): its top-1 rate (500/512 on two ranks,
    /// 2026-12-07; llama.cpp's own decode against its batch 495) is the same known issue, the other criteria strict.
    @Test(arguments: ["Qwen2.5-Coder-0.5B-Instruct.Q4_K_M", "Qwen2.5-Coder-0.5B-Instruct.Q8_0", "SmolLM2-135M-Instruct.Q8_0"])
    func twoRanksAgreeWithLlamaCpp(_ name: String) throws {
        let fidelity = try LlamaCppFidelity.prepare(name)
        let model = try TensorParallelHarness.load(fidelity.modelPath, size: 2)
        let shortfall: Comment? = name.hasPrefix("SmolLM2") ? "SmolLM2 drifts from llama.cpp (0.1 mean |Δlogprob|): top-1 agreement under 98%" : nil
        try fidelity.check(model: model, label: " tensor-parallel 2", rateShortfall: shortfall)
    }

    /// Every Llama-family variant and checkpoint format splits: Qwen2's biases, Qwen3's QK norms, Phi-3's fused
    /// projections, Mistral's sliding window, bf16 weights, AWQ and GPTQ layers (tiny random checkpoints of
    /// tools/gen-hf-tiny-fixtures.py and gen-quantized-fixtures.py). Float weights: logits within 1e-4 of the whole
    /// model's; integer and bf16 ones (int8 or bf16-rounded activations, whose rounding a reordered sum can flip) within
    /// 1e-2; the argmax everywhere.
    @Test(arguments: ["hf-tiny/llama", "hf-tiny/qwen2", "hf-tiny/qwen3", "hf-tiny/phi3", "hf-tiny/mistral-window", "hf-tiny/llama-bf16",
                      "hf-quantized/llama-awq", "hf-quantized/llama-gptq-actorder"])
    func everyVariantSplits(_ name: String) throws {
        let path = ModelHarness.fixtures.appendingPathComponent(name).path
        let tokens: [Int32] = (0..<40).map { Int32(($0 * 37 + 11) % 200) }
        let whole = try ModelHarness.load(path, threads: 1)
        let parallel = try TensorParallelHarness.load(path, size: 2)
        let table = (0..<Int32(8)).map { $0 }
        let a = ModelHarness.allLogits(whole, tokens, cache: ModelHarness.cache(for: whole, type: .f32), blockTable: table)
        let b = ModelHarness.allLogits(parallel, tokens, cache: ModelHarness.cache(for: parallel, type: .f32), blockTable: table)
        var worst: Float = 0
        for (x, y) in zip(a, b) {
            worst = max(worst, zip(x, y).map { abs($0 - $1) }.max()!)
            #expect(ModelHarness.argmax(x) == ModelHarness.argmax(y), "\(name)")
        }
        #expect(worst < (name.hasPrefix("hf-quantized") || name.hasSuffix("bf16") ? 1e-2 : 1e-4), "\(name): max |Δlogit| \(worst)")
    }

    /// Architectures that do not split are refused by name, and so are counts that leave a rank without a KV head.
    @Test func whatDoesNotSplitIsRefusedByName() throws {
        for (name, words) in [("hf-tiny/mixtral", "does not split"), ("hf-tiny/qwen2moe", "does not split"), ("hf-tiny/gemma3", "does not split")] {
            let path = ModelHarness.fixtures.appendingPathComponent(name).path
            #expect(performing: { _ = try TensorParallelHarness.load(path, size: 2) }, throws: { "\($0)".contains(words) })
        }
        let llama = ModelHarness.fixtures.appendingPathComponent("hf-tiny/llama").path
        #expect(performing: { _ = try TensorParallelHarness.load(llama, size: 3) }, throws: { "\($0)".contains("needs at least one per rank") })
    }
}
