import CVLLMKernels
import Foundation
import Testing
import VLLMModels

/// Our engine against llama.cpp on one model file, from a fixture of tools/gen-llamacpp-fixtures.py: per prompt,
/// llama.cpp's prompt ids, its greedy continuation of 64 tokens, and its top 5 (id, logprob) at each of the 64
/// teacher-forced positions that predict a continuation token.
///
/// llama.cpp gives two distributions at each of those positions, the same context both times: its batch over prompt +
/// continuation (`positions`) and its one-token decode step that chose the continuation token (`greedy_positions`).
/// It is not batch-invariant: on the quantized SmolLM2 and Gemma files the two disagree on the top token at 15-17 of
/// 512 positions, at batch gaps up to 0.46.
///
/// The criteria (issue 22):
/// - top-1 agreement with llama.cpp's batch at no less than 98% of the teacher-forced positions;
/// - every disagreement at a near-tie: our top token is within `nearTie` logprob of llama.cpp's top in one of
///   llama.cpp's own distributions of that context (or is its decode step's own top);
/// - greedy text equal to llama.cpp's, except where llama.cpp's own top two are within `nearTie` (in the decode step
///   that wrote the text, or in the batch): there ours may take another token (one within `nearTie` of the top, by
///   the second criterion), and the texts part (what follows is a different context and is not compared).
///
/// And a bound that holds on every file, strictly, where the issue's criteria can be known issues: our mean
/// |Δlogprob| from llama.cpp's batch at most `maxDriftOverLlamaCpp` times llama.cpp's own decode's (plus 0.003).
/// Measured 2026-12-07 on both paths: 1.00-1.26 times on every file (SmolLM2 and Gemma the highest).
///
/// Our engine is batch-invariant (a position's logits do not depend on how many tokens share the step), so our
/// greedy continuation is the chain of our teacher-forced top-1 tokens as long as it follows llama.cpp's; the greedy
/// criterion is checked over all 64 tokens that way, and by real one-token decode steps over the first
/// `decodeSteps` tokens of each prompt (which also checks the invariance on this file).
struct LlamaCppFidelity {
    struct Fixture: Decodable {
        struct Position: Decodable { let ids: [Int32]; let logprobs: [Float] }
        struct Case: Decodable {
            let text: String
            let prompt_ids: [Int32]
            let greedy_ids: [Int32]
            /// llama.cpp's one-token decode step before each greedy token (absent from fixtures made before 2026-12-07).
            let greedy_positions: [Position]?
            let positions: [Position]
        }
        struct Source: Decodable { let model: String; let model_bytes: Int; let tensors: String }
        struct Summary: Decodable { let positions: Int; let near_ties: Int; let greedy_differs_from_batch_top1: Int }
        let source: Source
        let summary: Summary
        let cases: [Case]
    }

    static let nearTie: Float = 0.25
    static let maxDriftOverLlamaCpp: Float = 1.35
    static let requiredAgreement = 0.98

    let name: String
    let fixture: Fixture

    /// The fixture of `name`, or a cancelled test case (saying why) when `VLLM_FIDELITY_FILES` leaves it out or its
    /// model file is absent.
    static func prepare(_ name: String, folder: String = "llamacpp-matrix") throws -> LlamaCppFidelity {
        if let only = Self.only, !only.contains(where: { name == $0 || name.hasSuffix(".\($0)") }) {
            try skip("\(name): not in VLLM_FIDELITY_FILES")
        }
        let fidelity = try LlamaCppFidelity(name, folder: folder)
        guard FileManager.default.fileExists(atPath: fidelity.modelPath) else {
            try skip("\(name): \(fidelity.modelPath) absent (tools/make-quant-matrix.sh, tools/fetch-qwen.sh, tools/fetch-model.sh gemma3-270m, tools/gen-transformers-gguf-fixture.py make it)")
        }
        return fidelity
    }

    /// `folder`: the fixtures' folder under Fixtures (`VLLM_FIDELITY_FIXTURES` names another, outside).
    init(_ name: String, folder: String = "llamacpp-matrix") throws {
        self.name = name
        let folder = ProcessInfo.processInfo.environment["VLLM_FIDELITY_FIXTURES"].map { URL(fileURLWithPath: $0) }
            ?? ModelHarness.fixtures.appendingPathComponent(folder)
        let url = folder.appendingPathComponent("\(name).json")
        fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    var modelPath: String { ModelHarness.cache + "/" + fixture.source.model }

    /// Prompts to run (`VLLM_FIDELITY_PROMPTS`, default all 8) and real decode steps per prompt
    /// (`VLLM_FIDELITY_DECODE_STEPS`, default 8; 0 leaves the greedy criterion to the teacher-forced chain).
    static var promptLimit: Int { Int(ProcessInfo.processInfo.environment["VLLM_FIDELITY_PROMPTS"] ?? "") ?? 8 }
    static var decodeSteps: Int { Int(ProcessInfo.processInfo.environment["VLLM_FIDELITY_DECODE_STEPS"] ?? "") ?? 8 }

    /// `VLLM_FIDELITY_KV=f32`: an f32 KV cache, to compare with fixtures made with FIXTURE_KV=f32 (found in the folder
    /// `VLLM_FIDELITY_FIXTURES` names).
    static var kvType: KVCacheType { ProcessInfo.processInfo.environment["VLLM_FIDELITY_KV"] == "f32" ? .f32 : .f16 }

    /// `VLLM_FIDELITY_FILES`: a comma-separated list of fixture names (or their type suffixes, `Q4_0`) to run alone.
    static var only: [Substring]? { ProcessInfo.processInfo.environment["VLLM_FIDELITY_FILES"]?.split(separator: ",") }

    /// The mean |Δlogprob| allowed where neither engine quantizes activations (F16 weights: llama.cpp rounds them to
    /// f16, we keep f32): measured 0.002-0.003 on the Qwen, SmolLM2 and Gemma F16 files on both instruction sets;
    /// Gemma's embeddings scaled 0.3% too far give 0.006.
    static let maxFloatPathDrift: Float = 0.005

    /// Runs every criterion, recording an issue for each failure, and prints one line of figures; `kvType` is the
    /// KV cache's element type (`VLLM_FIDELITY_KV` by default); `model` is the file's model loaded some other way
    /// (tensor-parallel shards), `label` says so in the figures; `maxMeanDrift` also bounds the mean |Δlogprob| over
    /// llama.cpp's top 5 (for files whose matmuls quantize no activations, where both engines should nearly agree);
    /// `isa` pins the calling thread and the pool's tasks to that instruction set (`VK_ISA_AVX2`) for the whole check;
    /// `rateShortfall`, when given, records a top-1 rate under 98% as that known issue, and `flipShortfall` a
    /// disagreement past a near-tie (the other criteria stay strict).
    func check(kvType: KVCacheType = Self.kvType, model given: (any LanguageModel)? = nil, label: String = "",
               maxMeanDrift: Float? = nil, isa: Int32? = nil, rateShortfall: Comment? = nil,
               flipShortfall: Comment? = nil) throws {
        if let isa { vk_set_isa(isa) }
        defer { if isa != nil { vk_set_isa(-1) } }
        let started = ContinuousClock.now
        let model = try given ?? ModelHarness.load(modelPath)
        var positions = 0, agreed = 0, agreedEither = 0, llamaSelf = 0, greedyEqual = 0, decodeChecked = 0
        var tieGaps: [Float] = [], drift: [Float] = [], selfDrift: [Float] = []
        for (index, c) in fixture.cases.prefix(Self.promptLimit).enumerated() {
            let rows = teacherForced(model, c, kvType: kvType)
            var ours: [Int32] = []
            for (k, (row, reference)) in zip(rows, c.positions).enumerated() {
                let top = Int32(ModelHarness.argmax(row))
                let decode = c.greedy_positions?[k]
                ours.append(top)
                positions += 1
                drift.append(Self.meanLogprobDifference(row, reference))
                if let decode {
                    llamaSelf += decode.ids[0] == reference.ids[0] ? 1 : 0
                    selfDrift.append(Self.meanLogprobDifference(decode, reference))
                }
                if top == reference.ids[0] || top == decode?.ids[0] { agreedEither += 1 }
                if top == reference.ids[0] { agreed += 1; continue }
                let gap = min(Self.gap(of: top, in: reference), decode.map { Self.gap(of: top, in: $0) } ?? .infinity)
                tieGaps.append(gap)
                Self.expect(gap <= Self.nearTie, known: flipShortfall, "\(name) prompt \(index) position \(k): ours \(top), llama.cpp's batch \(reference.ids.prefix(3)) \(reference.logprobs.prefix(3)), its decode \(decode.map { "\($0.ids.prefix(3)) \($0.logprobs.prefix(3))" } ?? "-"), gap \(gap)")
            }
            // Greedy: our chain of teacher-forced top-1 tokens follows llama.cpp's continuation up to a near-tie.
            let follows = zip(ours, c.greedy_ids).prefix { $0 == $1 }.count
            if follows == c.greedy_ids.count {
                greedyEqual += 1
            } else {
                let p = c.positions[follows], d = c.greedy_positions?[follows]
                let topTwo = min(p.logprobs[0] - p.logprobs[1], d.map { $0.logprobs[0] - $0.logprobs[1] } ?? .infinity)
                #expect(topTwo < Self.nearTie,
                        "\(name) prompt \(index): greedy parts from llama.cpp at token \(follows) (ours \(ours[follows]), llama.cpp \(c.greedy_ids[follows]), its top two: batch \(p.ids.prefix(2)) \(p.logprobs.prefix(2)), decode \(d.map { "\($0.ids.prefix(2)) \($0.logprobs.prefix(2))" } ?? "-"))")
            }
            // Real decode steps must give the same tokens as the teacher-forced chain (batch invariance).
            let steps = min(Self.decodeSteps, follows + 1, c.greedy_ids.count)
            if steps > 0 {
                let decoded = ModelHarness.greedy(model, c.prompt_ids, count: steps, kvType: kvType)
                #expect(decoded == Array(ours.prefix(steps)), "\(name) prompt \(index): decode \(decoded), teacher-forced \(ours.prefix(steps))")
                decodeChecked += steps
            }
        }
        let rate = Double(agreed) / Double(max(positions, 1))
        Self.expect(rate >= Self.requiredAgreement, known: rateShortfall, "\(name): top-1 agreement \(agreed)/\(positions)")
        let meanDrift = drift.reduce(0, +) / Float(max(drift.count, 1))
        if let maxMeanDrift { #expect(meanDrift <= maxMeanDrift, "\(name): mean |Δlogprob| \(meanDrift)") }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        let gaps = tieGaps.sorted().map { String(format: "%.3f", $0) }.joined(separator: " ")
        let meanSelfDrift = selfDrift.reduce(0, +) / Float(max(selfDrift.count, 1))
        if !selfDrift.isEmpty {
            #expect(meanDrift <= Self.maxDriftOverLlamaCpp * meanSelfDrift + 0.003,
                    "\(name): mean |Δlogprob| \(meanDrift) against llama.cpp's own decode-vs-batch \(meanSelfDrift)")
        }
        print(String(format: "[fidelity] %@%@ (%@): top-1 %d/%d (%.1f%%) against llama.cpp's batch, %d against its batch or its decode, " +
                     "disagreements at llama.cpp gaps [%@], greedy equal on %d/%d prompts, " +
                     "%d decode steps checked, mean |Δlogprob| over llama.cpp's top 5 %.3f (max %.3f); llama.cpp's own near-ties %d/%d, " +
                     "its decode against its batch: top-1 %d, mean |Δlogprob| %.3f; %.0f s",
                     name, label, ["portable C", "AVX2", "AVX-512"][Int(vk_get_isa())], agreed, positions, 100 * rate, agreedEither, gaps, greedyEqual,
                     min(Self.promptLimit, fixture.cases.count), decodeChecked, meanDrift, drift.max() ?? 0, fixture.summary.near_ties, fixture.summary.positions,
                     llamaSelf, meanSelfDrift, seconds))
    }

    /// Cancels this case of the parameterized test, saying why on stdout too (a cancelled case prints nothing).
    private static func skip(_ why: String) throws -> Never {
        print("[fidelity] skipped: \(why)")
        try Test.cancel(Comment(rawValue: why))
    }

    /// Logits at the 64 positions that predict the continuation, from one prefill of prompt + continuation.
    private func teacherForced(_ model: any LanguageModel, _ c: Fixture.Case, kvType: KVCacheType) -> [[Float]] {
        let sequence = c.prompt_ids + c.greedy_ids.dropLast()
        let blockSize = 16
        let blocks = (sequence.count + blockSize - 1) / blockSize
        let cache = ModelHarness.cache(for: model, blocks: blocks, blockSize: blockSize, type: kvType)
        var batch = ForwardBatch()
        batch.append(tokens: sequence, startPosition: 0, blockTable: (0..<Int32(blocks)).map { $0 })
        batch.extraLogitIndices = Array((c.prompt_ids.count - 1)..<sequence.count)
        let out = model.forward(batch, cache: cache)
        let vocab = model.configuration.vocabularySize
        return (0..<c.greedy_ids.count).map { Array(out[($0 * vocab)..<(($0 + 1) * vocab)]) }
    }

    /// Records a failed `condition`, as the known issue `known` when given.
    private static func expect(_ condition: Bool, known: Comment?, _ message: @autoclosure () -> String,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        guard !condition else { return }
        let comment = Comment(rawValue: message())
        if let known {
            withKnownIssue(known, isIntermittent: true) { Issue.record(comment, sourceLocation: sourceLocation) }
        } else {
            Issue.record(comment, sourceLocation: sourceLocation)
        }
    }

    /// How far below llama.cpp's top `token` lies in one of its distributions (infinity past its top 5).
    static func gap(of token: Int32, in reference: Fixture.Position) -> Float {
        reference.ids.firstIndex(of: token).map { reference.logprobs[0] - reference.logprobs[$0] } ?? .infinity
    }

    /// Mean |logprob in one of llama.cpp's views - in the other| over the tokens both top-5 lists hold.
    static func meanLogprobDifference(_ view: Fixture.Position, _ reference: Fixture.Position) -> Float {
        let differences = zip(reference.ids, reference.logprobs).compactMap { id, logprob in
            view.ids.firstIndex(of: id).map { abs(view.logprobs[$0] - logprob) }
        }
        return differences.reduce(0, +) / Float(max(differences.count, 1))
    }

    /// Mean |our logprob - llama.cpp's| over llama.cpp's top tokens at one position.
    static func meanLogprobDifference(_ logits: [Float], _ reference: Fixture.Position) -> Float {
        let top = logits.max() ?? 0
        let logSum = log(logits.reduce(Float(0)) { $0 + exp($1 - top) }) + top
        let differences = zip(reference.ids, reference.logprobs).map { abs(logits[Int($0)] - logSum - $1) }
        return differences.reduce(0, +) / Float(differences.count)
    }
}
