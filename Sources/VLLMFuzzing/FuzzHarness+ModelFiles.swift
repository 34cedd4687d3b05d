import Foundation
import VLLMModelFormats
import VLLMModels
import VLLMTokenizers

/// Model files: written to the scratch directory and opened through the loaders' public entry points.
extension FuzzHarness {
    static func gguf(_ data: Data) {
        let directory = ScratchDirectory.shared.holding(["model.gguf": data])
        guard let file = try? GGUFFile(path: directory + "/model.gguf") else { return }
        var checksum = 0
        for tensor in file.tensors { checksum &+= touch(file.data(of: tensor)) }
        _ = try? ModelConfiguration(gguf: file)
        if let tokenizer = try? Tokenizer(gguf: file) { exercise(tokenizer) }
        blackHole(checksum)
    }

    static func safetensors(_ data: Data) {
        let directory = ScratchDirectory.shared.holding(["model.safetensors": data])
        guard let file = try? SafetensorsFile(path: directory + "/model.safetensors") else { return }
        var checksum = 0
        for tensor in file.tensors.values { checksum &+= touch(file.data(of: tensor)) }
        blackHole(checksum)
    }

    static func safetensorsIndex(_ data: Data) {
        let directory = ScratchDirectory.shared.holding([
            "model.safetensors.index.json": data,
            "model-00001-of-00002.safetensors": shard(tensor: "model.embed_tokens.weight"),
            "model-00002-of-00002.safetensors": shard(tensor: "lm_head.weight"),
        ])
        guard let checkpoint = try? SafetensorsCheckpoint(directory: directory) else { return }
        var checksum = 0
        for name in checkpoint.tensorNames { if let t = checkpoint.tensor(named: name) { checksum &+= touch(t.data) } }
        blackHole(checksum)
    }

    static func config(_ data: Data) {
        let directory = ScratchDirectory.shared.holding(["config.json": data])
        guard let config = try? HuggingFaceConfig.load(directory: directory) else { return }
        _ = try? ModelConfiguration(huggingFace: config, directory: directory)
    }

    /// A valid one-tensor safetensors file: an F32 [2, 2] named `tensor`.
    static func shard(tensor: String) -> Data {
        var header = Array("{\"\(tensor)\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var data = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        data.append(Data(count: 16))
        return data
    }

    /// Reads a tensor's first and last byte: its range must lie inside the mapping.
    static func touch(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let first = bytes.first, let last = bytes.last else { return 0 }
        return Int(first) &+ Int(last)
    }

    @inline(never) static func blackHole(_ value: Int) { if value == 0x7fff_ffff_1234 { print(value) } }
}
