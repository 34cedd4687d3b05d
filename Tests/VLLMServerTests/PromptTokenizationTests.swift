import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMEngine
import VLLMServer

/// Prompt text is tokenized one way on every path (`Tokenizer.promptTokenIDs`): a hand-written ChatML prompt gives
/// llama.cpp's ids (special tokens parsed) through `LLM.generate`, `/tokenize` and `/v1/completions`, and the
/// offline and server paths then generate the same greedy text. Real model (release build).
@Suite(.serialized)
struct PromptTokenizationTests {
    static let chatML = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"

    static var modelPath: String {
        (ProcessInfo.processInfo.environment["SWIFT_VLLM_CACHE"] ?? NSHomeDirectory() + "/.cache/swift-vllm")
            + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    /// llama.cpp's ids for `chatML` (llama-cpp-python `tokenize(special=True)`, tools/gen-llamacpp-logits.py).
    static func llamaCppIDs() throws -> [Int32] {
        struct Fixture: Decodable {
            struct Case: Decodable { let text: String; let prompt_ids: [Int32] }
            let cases: [Case]
        }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("VLLMModelsTests/Fixtures/smollm2-llamacpp.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        return try #require(fixture.cases.first { $0.text == chatML }).prompt_ids
    }

    static var options: EngineOptions {
        var options = EngineOptions()
        options.kvCacheSpaceGiB = 0.05
        options.maxModelLength = 2048  // 0.05 GiB holds about 2,300 tokens, less than the model's 8,192
        return options
    }

    static var greedy: SamplingParameters { SamplingParameters(temperature: 0, maxTokens: 8) }

    @Test func offlinePromptsParseSpecialTokensAsLlamaCppDoes() throws {
        let reference = try Self.llamaCppIDs()
        let llm = try LLM(model: Self.modelPath, options: Self.options)
        let imStart = try #require(llm.tokenizer.tokenID("<|im_start|>"))
        let imEnd = try #require(llm.tokenizer.tokenID("<|im_end|>"))
        #expect(reference.filter { $0 == imStart }.count == 2 && reference.filter { $0 == imEnd }.count == 1)
        // The markers read as plain text would be many ordinary tokens: the reference tells the two apart.
        #expect(llm.tokenizer.encode(Self.chatML, addSpecialTokens: true) != reference)

        let batch = try llm.generate([Self.chatML], Self.greedy)[0]
        #expect(batch.promptTokenIDs == reference)
        var streamed = ""
        let single = try llm.generate(Self.chatML, Self.greedy) { streamed += $0 }
        #expect(single.promptTokenIDs == reference)
        #expect(streamed == batch.outputs[0].text)
        #expect(batch.outputs[0].text.contains("4"), "a sensible answer, not markup echoed back: \(batch.outputs[0].text.debugDescription)")
    }

    @Test func serverAndOfflinePathsAgree() async throws {
        let reference = try Self.llamaCppIDs()
        let offline = try LLM(model: Self.modelPath, options: Self.options).generate([Self.chatML], Self.greedy)[0]

        let core = try EngineCore.load(model: Self.modelPath, options: Self.options)
        let tokenizer = core.tokenizer
        let engine = AsyncEngine(core: core)
        defer { engine.shutdown() }
        let backend = EngineBackend(engine: engine, tokenizer: tokenizer, chat: try ChatFormatter(tokenizer: tokenizer, override: nil))
        var configuration = ServerConfiguration()
        configuration.servedModelNames = ["smollm2"]
        configuration.logRequests = false
        let app = Application(router: OpenAIServer.router(ServerContext(backend: backend, configuration: configuration)))
        let prompt = String(decoding: try JSONEncoder().encode(Self.chatML), as: UTF8.self)
        try await app.test(.router) { client in
            let (_, tokenized, _) = try await post(client, "/tokenize", #"{"model": "smollm2", "prompt": \#(prompt)}"#)
            #expect((tokenized["tokens"] as? [Int])?.map(Int32.init) == reference)
            let (status, body, raw) = try await post(client, "/v1/completions",
                                                     #"{"model": "smollm2", "prompt": \#(prompt), "temperature": 0, "max_tokens": 8}"#)
            #expect(status == .ok, "\(raw)")
            #expect((body["usage"] as? [String: Int])?["prompt_tokens"] == reference.count)
            let text = (body["choices"] as? [[String: Any]])?.first?["text"] as? String
            #expect(text == offline.outputs[0].text)
        }
    }
}
