import Foundation
import Testing
import VLLMKernels
import VLLMModelFormats
import VLLMModels

/// Hyper-parameters that would size an allocation past reason or compute garbage (issue 26): refused by the file's
/// own key name before anything is sized from them. `head_dim: 2^40` aborted on allocating the RoPE table; a
/// negative RMS epsilon loaded and produced garbage.
struct HostileConfigTests {
    /// The tiny Llama fixture in a fresh directory with `change` applied to its config.json.
    static func tinyLlama(_ change: (inout [String: Any]) -> Void) throws -> String {
        let fixture = ModelHarness.fixtures.appendingPathComponent("hf-tiny/llama")
        let directory = NSTemporaryDirectory() + "swift-vllm-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture.appendingPathComponent("model.safetensors").path, toPath: directory + "/model.safetensors")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: fixture.appendingPathComponent("config.json"))) as? [String: Any])
        change(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: directory + "/config.json"))
        return directory
    }

    static func loadError(_ location: ModelLocation) -> String? {
        do {
            _ = try ModelLoader.load(location, pool: ThreadPool(threadCount: 1))
            return nil
        } catch {
            return error.message
        }
    }

    @Test(arguments: [
        ("head_dim", 1 << 40, "head_dim is 1099511627776; it must be between 1 and 1024"),
        ("head_dim", 15, "head_dim is 15; rotary embeddings need an even head size"),
        ("hidden_size", 1 << 40, "hidden_size is 1099511627776; it must be between 1 and 131072"),
        ("intermediate_size", 1 << 40, "intermediate_size is 1099511627776; it must be between 1 and 1048576"),
        ("vocab_size", 1 << 40, "vocab_size is 1099511627776; it must be between 1 and 16777216"),
        ("num_hidden_layers", 1 << 40, "num_hidden_layers is 1099511627776; it must be between 1 and 1024"),
        ("num_hidden_layers", -1, "num_hidden_layers is -1; it must be between 1 and 1024"),
        ("max_position_embeddings", 1 << 40, "max_position_embeddings is 1099511627776; it must be between 1 and 268435456"),
        ("num_attention_heads", 0, "num_attention_heads is 0; it must be between 1 and 1024"),
        ("num_key_value_heads", 3, "num_attention_heads (4) is not a multiple of num_key_value_heads (3)"),
        ("num_key_value_heads", 8, "num_key_value_heads is 8; it must be between 1 and 4"),
    ] as [(String, Int, String)])
    func hugeOrInconsistentSizesAreRefusedByName(_ key: String, _ value: Int, _ expected: String) throws {
        let directory = try Self.tinyLlama { $0[key] = value }
        let message = Self.loadError(.huggingFaceDirectory(path: directory))
        #expect(message == "'\(directory)/config.json': \(expected)")
    }

    @Test(arguments: [
        ("rms_norm_eps", -1e-5, "rms_norm_eps is -1e-05; it must be between 1e-12 and 1.0"),
        ("rms_norm_eps", 0.0, "rms_norm_eps is 0.0; it must be between 1e-12 and 1.0"),
        ("rms_norm_eps", 1e-300, "rms_norm_eps is 1e-300; it must be between 1e-12 and 1.0"),
        ("rope_theta", 0.0, "rope_theta is 0.0; it must be a finite number greater than 1.0"),
        ("rope_theta", -10000.0, "rope_theta is -10000.0; it must be a finite number greater than 1.0"),
    ] as [(String, Double, String)])
    func numbersThatComputeGarbageAreRefusedByName(_ key: String, _ value: Double, _ expected: String) throws {
        let directory = try Self.tinyLlama { config in
            config[key] = value
            if key == "rope_theta" { config["rope_parameters"] = nil }
        }
        #expect(Self.loadError(.huggingFaceDirectory(path: directory)) == "'\(directory)/config.json': \(expected)")
    }

    @Test func ropeScalingFactorsAreChecked() throws {
        let negative = try Self.tinyLlama { $0["rope_scaling"] = ["rope_type": "linear", "factor": -2.0] }
        #expect(Self.loadError(.huggingFaceDirectory(path: negative)) == "'\(negative)/config.json': rope_scaling.factor is -2.0; it must be a finite number greater than 0.0")
        let flat = try Self.tinyLlama { $0["rope_scaling"] = ["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 4.0] }
        #expect(Self.loadError(.huggingFaceDirectory(path: flat)) == "'\(flat)/config.json': rope_scaling.high_freq_factor is 4.0; it must be a finite number greater than 4.0")
    }

    /// GGUF metadata gets the same checks, by the GGUF key names (a file with metadata only: the checks run first).
    static func gguf(eps: Float, keyLength: UInt64? = nil, headCount: UInt32 = 4, freqBase: Float = 10000) throws -> String {
        var b: [UInt8] = Array("GGUF".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        func key(_ k: String, type: UInt32) { u64(UInt64(k.utf8.count)); b += Array(k.utf8); u32(type) }
        var entries: [(String, UInt32)] = [("llama.embedding_length", 64), ("llama.feed_forward_length", 128), ("llama.block_count", 2),
                                           ("llama.attention.head_count", headCount), ("llama.context_length", 256), ("llama.vocab_size", 320)]
        let count = entries.count + 3 + (keyLength == nil ? 0 : 1)
        u32(3); u64(0); u64(UInt64(count))
        key("general.architecture", type: 8); u64(5); b += Array("llama".utf8)
        for (k, v) in entries { key(k, type: 4); u32(v) }
        key("llama.attention.layer_norm_rms_epsilon", type: 6); u32(eps.bitPattern)
        key("llama.rope.freq_base", type: 6); u32(freqBase.bitPattern)
        if let keyLength { key("llama.attention.key_length", type: 10); u64(keyLength) }
        entries.removeAll()
        let path = NSTemporaryDirectory() + "swift-vllm-config-\(UUID().uuidString).gguf"
        try Data(b).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func ggufMetadataIsCheckedByItsKeyNames() throws {
        for (path, expected) in [
            (try Self.gguf(eps: -1e-5), "llama.attention.layer_norm_rms_epsilon is -9.999999747378752e-06; it must be between 1e-12 and 1.0"),
            (try Self.gguf(eps: .nan), "llama.attention.layer_norm_rms_epsilon is nan; it must be between 1e-12 and 1.0"),
            (try Self.gguf(eps: 1e-5, keyLength: 1 << 40), "llama.attention.key_length is 1099511627776; it must be between 1 and 1024"),
            (try Self.gguf(eps: 1e-5, headCount: 0), "llama.attention.head_count is 0; it must be between 1 and 1024"),
            (try Self.gguf(eps: 1e-5, headCount: 3), "llama.embedding_length (64) is not a multiple of llama.attention.head_count (3)"),
            (try Self.gguf(eps: 1e-5, freqBase: 0), "llama.rope.freq_base is 0.0; it must be a finite number greater than 1.0"),
        ] {
            #expect(Self.loadError(.gguf(path: path)) == "'\(path)': \(expected)")
        }
    }
}

extension HostileConfigTests {
    /// A size given as a u64 past Int.max was reported as a missing key.
    @Test func aGGUFSizeThatIsNotAnIntegerIsNamed() throws {
        let path = try Self.gguf(eps: 1e-5, keyLength: UInt64.max)
        #expect(Self.loadError(.gguf(path: path)) == "'\(path)': the metadata key llama.attention.key_length is not an integer below 2^63")
    }
}
