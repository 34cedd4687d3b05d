import Foundation
import Testing
@testable import VLLMEngine

/// `--generation-config`: which fields of a model's `generation_config.json` become requests' defaults, as vLLM's
/// `ModelConfig.get_diff_sampling_param` takes them (its `available_params`, `max_new_tokens` renamed `max_tokens`).
struct SamplingDefaultsTests {
    /// Qwen2.5-Coder-1.5B-Instruct's generation_config.json, as published; vLLM logs for it
    /// `{'repetition_penalty': 1.1, 'temperature': 0.7, 'top_k': 20, 'top_p': 0.8}`.
    static let qwen = #"{"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643], "repetition_penalty": 1.1, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "transformers_version": "4.37.0"}"#

    /// A fresh folder holding `generation_config.json` (when given), removed after `body`.
    static func folder(_ config: String?, _ body: (String) throws -> Void) throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swift-vllm-genconfig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        if let config { try Data(config.utf8).write(to: url.appendingPathComponent("generation_config.json")) }
        try body(url.path)
    }

    @Test func autoTakesTheModelFoldersRecommendations() throws {
        try Self.folder(Self.qwen) { dir in
            let defaults = try SamplingDefaults.resolve("auto", modelDirectory: dir)
            #expect(defaults.temperature == 0.7 && defaults.topP == 0.8 && defaults.topK == 20 && defaults.repetitionPenalty == 1.1)
            #expect(defaults.minP == nil && defaults.maxTokens == nil)
            #expect(defaults.description == "{'repetition_penalty': 1.1, 'temperature': 0.7, 'top_k': 20, 'top_p': 0.8}")
            let p = defaults.parameters
            #expect(p.temperature == 0.7 && p.topP == 0.8 && p.topK == 20 && p.repetitionPenalty == 1.1 && p.minP == 0 && p.maxTokens == 16)
            // `vllm` keeps vLLM's neutral defaults; a GGUF file (no folder) carries no generation config.
            #expect(try SamplingDefaults.resolve("vllm", modelDirectory: dir).isEmpty)
            #expect(try SamplingDefaults.resolve("auto", modelDirectory: nil).isEmpty)
            // A folder named by the flag is read instead of the model's.
            #expect(try SamplingDefaults.resolve(dir, modelDirectory: nil) == defaults)
        }
        try Self.folder(nil) { dir in
            let defaults = try SamplingDefaults.resolve("auto", modelDirectory: dir)
            #expect(defaults.isEmpty)
        }
    }

    @Test func maxNewTokensCapsRequests() throws {
        try Self.folder(#"{"max_new_tokens": 64, "min_p": 0.05}"#) { dir in
            let defaults = try SamplingDefaults.resolve("auto", modelDirectory: dir)
            #expect(defaults.maxTokens == 64 && defaults.minP == 0.05)
            #expect(defaults.cappedMaxTokens(nil) == 64)
            #expect(defaults.cappedMaxTokens(10) == 10)
            #expect(defaults.cappedMaxTokens(1000) == 64)
            #expect(SamplingDefaults().cappedMaxTokens(nil) == nil)
        }
    }

    @Test func overridesApplyOverTheFileAndUnknownKeysAreRefused() throws {
        try Self.folder(Self.qwen) { dir in
            let defaults = try SamplingDefaults.resolve("auto", override: #"{"temperature": 0.2, "max_new_tokens": 100}"#, modelDirectory: dir)
            #expect(defaults.temperature == 0.2 && defaults.topP == 0.8 && defaults.maxTokens == 100)
            #expect(try SamplingDefaults.resolve("vllm", override: #"{"top_k": 5}"#, modelDirectory: dir).topK == 5)
            #expect(throws: EngineError.self) { try SamplingDefaults.resolve("auto", override: #"{"do_sample": false}"#, modelDirectory: dir) }
            #expect(throws: EngineError.self) { try SamplingDefaults.resolve("auto", override: #"{"top_k": 1.5}"#, modelDirectory: dir) }
            #expect(throws: EngineError.self) { try SamplingDefaults.resolve("auto", override: "[1]", modelDirectory: dir) }
        }
    }

    @Test func aFolderWithoutTheFileOrAMissingFolderIsAnError() throws {
        try Self.folder(nil) { dir in
            #expect(throws: EngineError.self) { try SamplingDefaults.resolve(dir, modelDirectory: nil) }
            #expect(throws: EngineError.self) { try SamplingDefaults.resolve(dir + "/absent", modelDirectory: nil) }
        }
        try Self.folder("{not json") { dir in
            #expect(throws: (any Error).self) { try SamplingDefaults.resolve("auto", modelDirectory: dir) }
        }
    }
}
