import Foundation
import Testing
import VLLMModelFormats

func safetensorsBytes(header: String, payload: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = []
    withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes += $0 }
    return bytes + Array(header.utf8) + payload
}

@Test func readsSafetensors() throws {
    let payload = (0..<6).flatMap { i -> [UInt8] in withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { Array($0) } }
    let header = #"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#
    let file = try SafetensorsFile(path: try temporaryFile(safetensorsBytes(header: header, payload: payload), suffix: ".safetensors"))
    let w = try #require(file.tensors["w"])
    #expect(w.shape == [2, 3] && w.type == .f32)
    #expect(Array(file.data(of: w).bindMemory(to: Float.self)) == [0, 1, 2, 3, 4, 5])
}

@Test func safetensorsErrorsAreClear() throws {
    let truncated = safetensorsBytes(header: #"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#, payload: [0, 0])
    var message = formatError { _ = try SafetensorsFile(path: try temporaryFile(truncated, suffix: ".safetensors")) }
    #expect(message?.contains("truncated") == true)
    // Integer dtypes are read now (quantized checkpoints' packed weights); a float64 tensor is not.
    let float64 = safetensorsBytes(header: #"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, payload: [0, 0, 0, 0, 0, 0, 0, 0])
    message = formatError { _ = try SafetensorsFile(path: try temporaryFile(float64, suffix: ".safetensors")) }
    #expect(message?.contains("dtype F64") == true)
    message = formatError { _ = try SafetensorsFile(path: try temporaryFile([1, 2, 3], suffix: ".safetensors")) }
    #expect(message != nil)
}

@Test func locatesModelsInTheHuggingFaceCache() throws {
    let hub = NSTemporaryDirectory() + "hub-\(UUID().uuidString)"
    let snapshot = hub + "/models--org--tiny/snapshots/abc123"
    try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
    try Data("{}".utf8).write(to: URL(fileURLWithPath: snapshot + "/config.json"))
    let location = try ModelLocation.resolve("org/tiny", environment: ["HF_HUB_CACHE": hub])
    #expect(location == .huggingFaceDirectory(path: snapshot))
    let message = formatError { _ = try ModelLocation.resolve("org/absent", environment: ["HF_HUB_CACHE": hub]) }
    #expect(message?.contains("not supported") == true || message?.contains("neither a path") == true)
    let missing = formatError { _ = try ModelLocation.resolve("/no/such/model.gguf") }
    #expect(missing?.contains("does not exist") == true)
}
