import CVLLMKernels
import Foundation
import Testing
import VLLMModelFormats
import VLLMModels

/// Gemma 3 270M Q4_K_M (tools/fetch-model.sh gemma3-270m) against llama.cpp on the same file, by LlamaCppFidelity's
/// criteria, from the fixture of tools/gen-llamacpp-fixtures.py gemma-3-270m.Q4_K_M: eight prompts, the last 787
/// tokens long, so that its continuation runs past the 512-key window of the local layers. Without the file the
/// fidelity cases are cancelled with the command that fetches it.
/// Run alone:  swift test -c release --filter Gemma3Tests
@Suite(.serialized)
struct Gemma3Tests {
    static let name = "gemma-3-270m.Q4_K_M"

    /// Measured 2026-12-07 (Zen 5), with the fixture's two views of llama.cpp (its batch and its one-token decode
    /// steps): AVX-512 top-1 499/512 (97.5%) against llama.cpp's batch, 504 against its batch or its decode, every
    /// disagreement within 0.18 of llama.cpp's top, the greedy texts parting only at llama.cpp's own near-ties (prompt 5,
    /// token 3: its batch's top two 0.267 apart, but its decode step, which wrote the text, 0.103); AVX2 494/512, one
    /// teacher-forced disagreement at 0.605 (prompt 1, position 39). llama.cpp's own decode agrees with its batch at
    /// 497/512 (97.1%), at batch gaps up to 0.455: the 98% rate is tighter than llama.cpp's noise on this model, and
    /// on AVX2 (whose attention and GeGLU round differently from AVX-512's) the int8 rounding lands one flip past it. A 270M model with a 262,144-token vocabulary
    /// has flat distributions (llama.cpp's own top two lie within 0.25 at 45 of the 512 positions), and the drift, mean
    /// |Δlogprob| 0.13, is the int8 rounding of Gemma's large activations: not f16 attention (with an f32 KV cache on
    /// both sides, FIXTURE_KV=f32 and VLLM_FIDELITY_KV=f32, the same 0.13); not our activations' finer scale (quantized
    /// exactly as llama.cpp's Q8_K, tried 2026-12-06, 0.128); not our float path (the weights widened to F16 agree at
    /// 512/512, 0.002, `floatPathAgreesWithLlamaCpp`); transformers in float32 on the dequantized weights sits 0.121
    /// from llama.cpp and 0.001 from us (`agreesWithTransformersOnDequantizedWeights`).
    /// Issue 23's criterion for Gemma (greedy text equal to llama.cpp's except at near-ties) holds strictly on both
    /// paths; the rate, and AVX2's one flip, are recorded as known issues.
    @Test func agreesWithLlamaCpp() throws {
        let fidelity = try LlamaCppFidelity.prepare(Self.name)
        try fidelity.check(rateShortfall: Self.shortfall)
    }

    /// The same criteria on the AVX2 kernels (and thus their attention, GeGLU and norm paths).
    @Test(.enabled(if: vk_cpu_isa() >= VK_ISA_AVX2, "no AVX2 on this CPU"))
    func agreesWithLlamaCppOnAVX2() throws {
        let fidelity = try LlamaCppFidelity.prepare(Self.name)
        try fidelity.check(isa: Int32(VK_ISA_AVX2), rateShortfall: Self.shortfall, flipShortfall: Self.avx2Flip)
    }

    static let shortfall: Comment = "Gemma 3 270M drifts from llama.cpp (0.13 mean |Δlogprob|): top-1 agreement under 98%, as llama.cpp's decode against its batch"
    static let avx2Flip: Comment = "Gemma 3 270M on AVX2: one teacher-forced disagreement at a llama.cpp gap of 0.6"

    /// The file's weights widened to F16 by llama-quantize (tools/make-quant-matrix.sh): llama.cpp multiplies them by
    /// f16-rounded activations, we by f32 ones, no int8 step on either side, so this checks Gemma's attention (both
    /// window kinds, the 787-token prompt past the window), norms, GeGLU and scaled embeddings against llama.cpp's
    /// alone. Measured 2026-12-07 (Zen 5): top-1 512/512 on AVX-512 and AVX2, mean |Δlogprob| 0.002, greedy text equal
    /// on 8 of 8 prompts.
    @Test func floatPathAgreesWithLlamaCpp() throws {
        try LlamaCppFidelity.prepare(Self.widened).check(maxMeanDrift: LlamaCppFidelity.maxFloatPathDrift)
    }

    /// The same on the AVX2 kernels.
    @Test(.enabled(if: vk_cpu_isa() >= VK_ISA_AVX2, "no AVX2 on this CPU"))
    func floatPathAgreesWithLlamaCppOnAVX2() throws {
        try LlamaCppFidelity.prepare(Self.widened).check(maxMeanDrift: LlamaCppFidelity.maxFloatPathDrift,
                                                         isa: Int32(VK_ISA_AVX2))
    }

    static let widened = "gemma-3-270m.F16"

    /// The same model at full scale against transformers: the GGUF's weights dequantized by transformers' GGUF loader
    /// into a float32 folder, run by both in float32 (our f32 dot products, f32 KV cache) on the fixture's prompts and
    /// llama.cpp's continuations (tools/gen-transformers-gguf-fixture.py makes the folder and the fixture; without the
    /// folder the case is cancelled). Measured 2026-12-06: top-1 512/512, mean |Δlogprob| 0.001 (max 0.006), the
    /// 787-token prompt included, while transformers itself sits 0.121 from llama.cpp (top-1 497/512): the drift of
    /// `agreesWithLlamaCpp` is llama.cpp's quantized-activation numerics, not Gemma's math.
    @Test func agreesWithTransformersOnDequantizedWeights() throws {
        let fidelity = try LlamaCppFidelity.prepare(Self.name, folder: "transformers-gguf")
        try fidelity.check(kvType: .f32)
    }

    /// A tiny random-weight `Gemma3ForCausalLM` written by transformers (tools/gen-hf-tiny-fixtures.py gemma3: three
    /// layers, the last global, a 4-key window the 12-token prompt runs past, query_pre_attn_scalar 24, linear RoPE
    /// scaling on the global layer, final soft-capping 5): our logits at every position against transformers' in
    /// float32. Our GeGLU reads ggml's f16 GELU table where transformers evaluates tanh, which moves these logits by
    /// about `maxGeluDrift`; a wrong window, scale, norm or RoPE base moves them by their own size.
    @Test func huggingFaceFolderMatchesTransformers() throws {
        let directory = ModelHarness.fixtures.appendingPathComponent("hf-tiny/gemma3")
        let expected = try JSONDecoder().decode(TransformersReferenceTests.Expected.self,
                                                from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
        let model = try ModelHarness.load(directory.path, threads: 1, dtype: .float32)
        #expect(model.slidingWindows == [4, 4, nil])
        var worst: Float = 0
        for (prompt, reference) in zip(expected.prompts, expected.logits) {
            let cache = ModelHarness.cache(for: model, blocks: 8, blockSize: 4, type: .f32)
            let got = ModelHarness.allLogits(model, prompt, cache: cache, blockTable: [5, 2, 7, 0])
            for (row, refRow) in zip(got, reference) { for (a, b) in zip(row, refRow) { worst = max(worst, abs(a - b)) } }
        }
        print("[gemma3-hf] max |Δlogit| against transformers: \(worst)")
        #expect(worst < Self.maxGeluDrift, "max |Δlogit| = \(worst)")
    }

    static let maxGeluDrift: Float = 2e-3

    /// The model's own KV cache layout (a group for the global layers, five for the local ones, each with its own
    /// blocks), prefilled in two chunks with the local groups' blocks before the window set to -1 as the scheduler
    /// drops them: the last position's logits are the same bits as one prefill through a single full table.
    @Test func groupedCacheWithDroppedBlocksGivesTheSameLogits() throws {
        let fidelity = try LlamaCppFidelity.prepare(Self.name)
        let model = try ModelHarness.load(fidelity.modelPath)
        let prompt = fidelity.fixture.cases.last!.prompt_ids  // 787 tokens
        #expect(prompt.count > 700)
        let blockSize = 16, blocks = (prompt.count + blockSize - 1) / blockSize
        let single = ModelHarness.cache(for: model, blocks: blocks, blockSize: blockSize)
        var batch = ForwardBatch()
        batch.append(tokens: prompt, startPosition: 0, blockTable: (0..<Int32(blocks)).map { $0 })
        let expected = Array(model.forward(batch, cache: single))

        let layout = model.kvCacheLayout
        let grouped = model.makeKVCache(blockCount: blocks * layout.groups.count, blockSize: blockSize, type: .f16)
        // Group g's blocks are g * blocks ..< (g + 1) * blocks, in reverse order.
        var tables = (0..<layout.groups.count).map { g in (0..<blocks).map { Int32(g * blocks + blocks - 1 - $0) } }
        let split = 600
        batch = ForwardBatch()
        batch.append(tokens: Array(prompt[..<split]), startPosition: 0, blockTables: tables, wantsLogits: false)
        _ = model.forward(batch, cache: grouped)
        let firstVisible = split - 512 + 1  // the earliest key any local layer reads from here on
        for (g, group) in layout.groups.enumerated() where group.slidingWindow != nil {
            for b in 0..<(firstVisible / blockSize) { tables[g][b] = -1 }
        }
        #expect(tables[1].prefix(5) == [-1, -1, -1, -1, -1])
        batch = ForwardBatch()
        batch.append(tokens: Array(prompt[split...]), startPosition: split, blockTables: tables)
        #expect(Array(model.forward(batch, cache: grouped)) == expected)
    }

    /// The file's hyper-parameters as llama.cpp reads them: five local layers of 512 keys, then a global one.
    @Test func layersAndParameters() throws {
        let fidelity = try LlamaCppFidelity.prepare(Self.name)
        let model = try ModelHarness.load(fidelity.modelPath)
        let c = model.configuration
        #expect(c.architecture == "gemma3" && c.layerCount == 18 && c.headDim == 256 && c.headCount == 4 && c.kvHeadCount == 1)
        #expect(model.slidingWindows == (0..<18).map { $0 % 6 == 5 ? nil : 512 })
        // vLLM's grouping: the three global layers, then the fifteen local ones in groups of three.
        #expect(model.kvCacheLayout.groups.map(\.slidingWindow) == [nil, 512, 512, 512, 512, 512])
        #expect(c.vocabularySize == 262_144 && c.hiddenSize == 640 && c.intermediateSize == 2048)
        #expect(model.weightTypeDescription.contains("Q4_K"))
    }
}
