import Foundation
import Testing
import VLLMEngine

/// Start-up refuses a KV cache that cannot hold one sequence of the max model length, as vLLM does, naming the
/// flags to change; before, `--kv-cache-space 0.01` started with 464 tokens of cache under a max model len of 8192
/// and the first long request wedged the scheduler.
struct KVCacheStartupTests {
    /// The tiny fixture (2 layers, 2 KV heads of 16: 512 bytes a token for K and V in f32) has max_position_embeddings 256;
    /// 5e-5 GiB holds 6 blocks of 16 tokens = 96 tokens.
    static var tooSmall: EngineOptions {
        var options = EngineOptions()
        options.threads = 1
        options.kvCacheSpaceGiB = 5e-5
        return options
    }

    @Test func aCacheSmallerThanOneMaxLengthSequenceIsRefused() throws {
        let directory = try EngineInvariantTests.tinyModelDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let error = #expect(throws: EngineError.self) { try EngineCore.load(model: directory, options: Self.tooSmall) }
        let message = try #require(error?.message)
        #expect(message.hasPrefix("To serve at least one request with the model's max seq len (256), 0.00012 GiB KV cache is needed"), "\(message)")
        #expect(message.contains("larger than the available KV cache memory (4.6e-05 GiB)"), "\(message)")
        #expect(message.contains("the estimated maximum model length is 96."), "\(message)")
        #expect(message.hasSuffix("Try increasing --kv-cache-space or decreasing --max-model-len."), "\(message)")
        #expect(!message.contains("\n"), "one line")
        #expect(throws: EngineError(message)) { try LLM(model: directory, options: Self.tooSmall) }
    }

    @Test func theEstimatedLengthIsAccepted() throws {
        let directory = try EngineInvariantTests.tinyModelDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = Self.tooSmall
        options.maxModelLength = 96
        let core = try EngineCore.load(model: directory, options: options)
        #expect(core.kvCacheTokenCount == 96 && core.maxModelLength == 96)
        options.maxModelLength = 97
        #expect(throws: EngineError.self) { try EngineCore.load(model: directory, options: options) }
    }
}
