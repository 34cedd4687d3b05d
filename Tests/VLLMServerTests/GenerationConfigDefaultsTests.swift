import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMEngine
@testable import VLLMServer

/// The model's generation-config defaults (`--generation-config auto`) reach requests as vLLM's
/// `to_sampling_params(default_sampling_params)` applies them: a field the request leaves out takes the model's
/// value, one it sends wins, and `max_new_tokens` caps `max_tokens`, on both generation endpoints and in
/// `vllm generate --input` lines (the same decoder).
struct GenerationConfigDefaultsTests {
    static let defaults: SamplingDefaults = {
        var d = SamplingDefaults()
        d.temperature = 0.7
        d.topP = 0.8
        d.topK = 20
        d.minP = 0.05
        d.repetitionPenalty = 1.1
        d.maxTokens = 6
        return d
    }()

    static func app(_ backend: FakeBackend) -> some ApplicationProtocol {
        var configuration = ServerConfiguration()
        configuration.servedModelNames = ["fake"]
        configuration.samplingDefaults = defaults
        return Application(router: OpenAIServer.router(ServerContext(backend: backend, configuration: configuration)))
    }

    @Test func absentFieldsTakeTheModelsDefaultsAndGivenOnesWin() async throws {
        let backend = FakeBackend()
        try await Self.app(backend).test(.router) { client in
            for (uri, input) in ParameterTests.endpoints {
                let (status, _, _) = try await post(client, uri, #"{"model": "fake", \#(input)}"#)
                #expect(status == .ok, "\(uri)")
                let p = try #require(backend.lastParameters.withLock { $0 })
                #expect(p.temperature == 0.7 && p.topP == 0.8 && p.topK == 20 && p.minP == 0.05 && p.repetitionPenalty == 1.1, "\(uri)")
                #expect(p.maxTokens == 6, "\(uri): max_new_tokens when the request gives none")

                let body = #"{"model": "fake", \#(input), "temperature": 0, "top_p": 1, "top_k": 0, "min_p": 0, "repetition_penalty": 1, "max_tokens": 100}"#
                let (again, _, _) = try await post(client, uri, body)
                #expect(again == .ok, "\(uri)")
                let q = try #require(backend.lastParameters.withLock { $0 })
                #expect(q.temperature == 0 && q.topP == 1 && q.topK == 0 && q.minP == 0 && q.repetitionPenalty == 1, "\(uri)")
                #expect(q.maxTokens == 6, "\(uri): max_tokens 100 capped by max_new_tokens")
            }
        }
    }

    @Test func withoutAGenerationConfigTheDefaultsAreVLLMs() throws {
        let (p, _) = try RequestDecoding.samplingParameters(object: Data(#"{"max_tokens": 3}"#.utf8), otherKnownKeys: [])
        #expect(p.temperature == 1 && p.topP == 1 && p.topK == 0 && p.minP == 0 && p.repetitionPenalty == 1 && p.maxTokens == 3)
        let (q, _) = try RequestDecoding.samplingParameters(object: Data(#"{"top_p": 0.5}"#.utf8), otherKnownKeys: [], defaults: Self.defaults)
        #expect(q.topP == 0.5 && q.temperature == 0.7 && q.maxTokens == 6)
    }
}
