import Foundation
import Testing
@testable import VLLMModels
import VLLMKernels
import VLLMModelFormats

/// Routing arithmetic, and the Phi-3 and mixture-of-experts config fields that are honoured or refused by name.
struct Phi3AndExpertsConfigTests {
    /// A tiny fixture (`hf-tiny/NAME`) in a fresh directory with `change` applied to its config.json.
    static func fixture(_ name: String, _ change: (inout [String: Any]) -> Void) throws -> String {
        let source = ModelHarness.fixtures.appendingPathComponent("hf-tiny/\(name)")
        let directory = NSTemporaryDirectory() + "swift-vllm-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: source.appendingPathComponent("model.safetensors").path, toPath: directory + "/model.safetensors")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as? [String: Any])
        change(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: directory + "/config.json"))
        return directory
    }

    static func load(_ directory: String) throws(ModelFormatError) -> any LanguageModel {
        try ModelLoader.load(.huggingFaceDirectory(path: directory), pool: ThreadPool(threadCount: 1))
    }

    @Test func routingPicksTheTopKAndGroupsByExpert() {
        // Token 0 prefers experts 2 then 0; token 1 experts 2 then 3 (3 ties with 1: the lower index, 1, wins).
        let logits: [Float] = [1, 0, 3, 0.5,
                               0, 2, 4, 2]
        let routing = logits.withUnsafeBufferPointer { ExpertRouting(logits: $0.baseAddress!, count: 2, experts: 4, topK: 2, normalize: false) }
        #expect(routing.offsets == [0, 1, 2, 4, 4])  // expert 0: token 0; expert 1: token 1; expert 2: tokens 0, 1
        #expect(routing.tokens == [0, 1, 0, 1])
        #expect(routing.slots == [2, 0, 3, 1])  // token 0's first choice (expert 2) is assignment 2, ...
        let p0 = [1, 0, 3, 0.5].map { exp(Float($0)) }, s0 = p0.reduce(0, +)
        #expect(abs(routing.weights[0] - p0[2] / s0) < 1e-6 && abs(routing.weights[1] - p0[0] / s0) < 1e-6)
        let normalized = logits.withUnsafeBufferPointer { ExpertRouting(logits: $0.baseAddress!, count: 2, experts: 4, topK: 2, normalize: true) }
        #expect(abs(normalized.weights[0] + normalized.weights[1] - 1) < 1e-6)
        #expect(abs(normalized.weights[0] - p0[2] / (p0[2] + p0[0])) < 1e-6)
    }

    @Test func partialRotaryIsRefusedByName() throws {
        let directory = try Self.fixture("phi3") { $0["partial_rotary_factor"] = 0.75 }
        #expect(throws: ModelFormatError("'\(directory)/config.json': partial_rotary_factor 0.75 (partial rotary embeddings) is not supported")) {
            _ = try Self.load(directory)
        }
    }

    /// Phi-3's window slides over the whole context (it used to cap the context at the window); a window as long as
    /// the context, or 0, is none.
    @Test func phi3SlidingWindowSlides() throws {
        let model = try Self.load(try Self.fixture("phi3") { $0["sliding_window"] = 48 })
        #expect(model.configuration.maxPositions == 256 && model.configuration.slidingWindow == 48)
        #expect(model.slidingWindows == [48, 48] && model.kvCacheLayout.groups.map(\.slidingWindow) == [48])
        for none in [0, 256, 4096] {
            #expect(try Self.load(try Self.fixture("phi3") { $0["sliding_window"] = none }).configuration.slidingWindow == nil)
        }
    }

    @Test func longRoPEFactorsOfTheWrongLengthAreRefused() throws {
        let directory = try Self.fixture("phi3-longrope") { config in
            var rope = config["rope_parameters"] as? [String: Any] ?? [:]
            rope["short_factor"] = [1.0, 2.0]
            config["rope_parameters"] = rope
        }
        #expect(throws: ModelFormatError("'\(directory)/config.json': rope_scaling needs short_factor and long_factor of 8 positive numbers each")) {
            _ = try Self.load(directory)
        }
    }

    @Test func qwenSlidingWindowLayersAreRefusedByName() throws {
        let directory = try Self.fixture("qwen2moe") { $0["use_sliding_window"] = true; $0["sliding_window"] = 16 }
        #expect(throws: ModelFormatError("'\(directory)/config.json': use_sliding_window (sliding-window attention on the layers from max_window_layers on) is not supported")) {
            _ = try Self.load(directory)
        }
    }

    @Test func expertCountsAreChecked() throws {
        let directory = try Self.fixture("qwen3moe") { $0["num_experts_per_tok"] = 9 }
        #expect(throws: ModelFormatError("'\(directory)/config.json': num_experts_per_tok is 9; it must be between 1 and 8")) {
            _ = try Self.load(directory)
        }
    }

    /// `mlp_only_layers` makes a layer dense: its `mlp.*_proj` tensors are then required (this checkpoint has experts
    /// there, so loading names the missing dense tensor instead of running experts as a dense MLP).
    @Test func mlpOnlyLayersAreDense() throws {
        let directory = try Self.fixture("qwen3moe") { $0["mlp_only_layers"] = [1] }
        #expect(throws: ModelFormatError("'\(directory)' is missing the tensor 'model.layers.1.mlp.gate_proj.weight'")) {
            _ = try Self.load(directory)
        }
    }
}
