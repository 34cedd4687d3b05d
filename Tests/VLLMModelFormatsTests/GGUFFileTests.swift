import Foundation
import Testing
import VLLMModelFormats

/// Builds small GGUF files byte by byte, so every error path is reachable.
struct GGUFBuilder {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }

    /// A valid file with one u32 key, one string array key and one F32 tensor of shape [4, 2].
    static func valid(tensorType: UInt32 = 0, shape0: UInt64 = 4) -> [UInt8] {
        var b = GGUFBuilder()
        b.bytes += Array("GGUF".utf8)
        b.u32(3); b.u64(1); b.u64(2)
        b.string("test.count"); b.u32(4); b.u32(7)
        b.string("test.names"); b.u32(9); b.u32(8); b.u64(2); b.string("a"); b.string("bc")
        b.string("w"); b.u32(2); b.u64(shape0); b.u64(2); b.u32(tensorType); b.u64(0)
        while b.bytes.count % 32 != 0 { b.bytes.append(0) }
        for i in 0..<8 { b.f32(Float(i)) }
        return b.bytes
    }

    /// A file with no metadata and one tensor 'w' of `shape` and type id `type`, followed by `dataBytes` bytes.
    static func oneTensor(type: UInt32, shape: [UInt64], dataBytes: Int) -> [UInt8] {
        var b = GGUFBuilder()
        b.bytes += Array("GGUF".utf8)
        b.u32(3); b.u64(1); b.u64(0)
        b.string("w"); b.u32(UInt32(shape.count))
        for d in shape { b.u64(d) }
        b.u32(type); b.u64(0)
        while b.bytes.count % 32 != 0 { b.bytes.append(0) }
        b.bytes += [UInt8](repeating: 0x5A, count: dataBytes)
        return b.bytes
    }
}

func temporaryFile(_ bytes: [UInt8], suffix: String = ".gguf") throws -> String {
    let path = NSTemporaryDirectory() + "swift-vllm-test-\(UUID().uuidString)\(suffix)"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

func formatError(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch let error as ModelFormatError { return error.message } catch { return "unexpected \(error)" }
}

@Test func readsMetadataAndTensors() throws {
    let path = try temporaryFile(GGUFBuilder.valid())
    let file = try GGUFFile(path: path)
    #expect(file.version == 3)
    #expect(file.metadata["test.count"] == .uint32(7))
    #expect(file.metadata["test.names"]?.strings == ["a", "bc"])
    let w = try #require(file.tensor(named: "w"))
    #expect(w.shape == [4, 2] && w.type == .f32 && w.byteCount == 32)
    let values = Array(file.data(of: w).bindMemory(to: Float.self))
    #expect(values == (0..<8).map(Float.init))
}

@Test func missingFileSaysSo() {
    let message = formatError { _ = try GGUFFile(path: "/nonexistent/model.gguf") }
    #expect(message?.contains("cannot open '/nonexistent/model.gguf'") == true)
}

@Test func badMagicIsNotGGUF() throws {
    var bytes = GGUFBuilder.valid()
    bytes[0] = UInt8(ascii: "X")
    let message = formatError { _ = try GGUFFile(path: try temporaryFile(bytes)) }
    #expect(message?.contains("is not a GGUF file") == true)
}

@Test func everyTruncationIsAClearError() throws {
    let bytes = GGUFBuilder.valid()
    for length in [0, 3, 10, 30, 60, 90, bytes.count - 1] {
        let message = formatError { _ = try GGUFFile(path: try temporaryFile(Array(bytes.prefix(length)))) }
        #expect(message != nil, "length \(length) was accepted")
        #expect(message?.contains("truncated") == true || message?.contains("not a GGUF") == true, "\(message ?? "")")
    }
}

/// Every type ggml defines is read and sized, computable or not (the model loader decides what it runs): sizes are
/// ggml's `sizeof(block_*)` from ggml-common.h, e.g. IQ2_XXS = ggml_half d + uint16_t qs[QK_K/8] = 66 bytes a block of 256.
@Test(arguments: [(UInt32(16), "IQ2_XXS", 256, 66), (10, "Q2_K", 256, 84), (11, "Q3_K", 256, 110), (20, "IQ4_NL", 32, 18),
                  (23, "IQ4_XS", 256, 136), (34, "TQ1_0", 256, 54), (15, "Q8_K", 256, 292), (29, "IQ1_M", 256, 56),
                  (39, "MXFP4", 32, 17), (28, "F64", 1, 8)])
func readsAnyGGMLType(_ id: UInt32, _ name: String, _ block: Int, _ blockBytes: Int) throws {
    let bytes = GGUFBuilder.oneTensor(type: id, shape: [UInt64(block * 2), 3], dataBytes: 6 * blockBytes)
    let file = try GGUFFile(path: try temporaryFile(bytes))
    let w = try #require(file.tensor(named: "w"))
    #expect(w.type.name == name && w.type.rawValue == Int32(id))
    #expect(w.byteCount == 6 * blockBytes)
    let short = formatError { _ = try GGUFFile(path: try temporaryFile(Array(bytes.dropLast()))) }
    #expect(short?.contains("truncated") == true, "one byte short of \(name)'s 6 blocks")
}

@Test func typeIDsGGMLDoesNotDefineAreRefused() throws {
    for id: UInt32 in [4, 5, 31, 37, 43, 77, 0xFFFF_FFFF] {
        let message = formatError { _ = try GGUFFile(path: try temporaryFile(GGUFBuilder.valid(tensorType: id))) }
        #expect(message?.contains("tensor 'w'") == true && message?.contains("type id \(id)") == true
                && message?.contains("ggml does not define") == true, "\(message ?? "accepted")")
    }
    #expect(TensorType(rawValue: 4) == nil && TensorType(rawValue: 43) == nil && TensorType(rawValue: -1) == nil)
    #expect(TensorType.allCases.count == 35, "ggml's 43 ids less the 8 removed ones")
}

/// Four dimensions of 2^39 each: their product overflows; the reader must say so, not trap.
@Test func dimensionsWhoseProductOverflowsAreAClearError() throws {
    let huge = UInt64(1) << 39
    let message = formatError { _ = try GGUFFile(path: try temporaryFile(GGUFBuilder.oneTensor(type: 0, shape: [huge, huge, huge, huge], dataBytes: 64))) }
    #expect(message?.contains("truncated") == true && message?.contains("tensor 'w'") == true, "\(message ?? "accepted")")
    let wide = formatError { _ = try GGUFFile(path: try temporaryFile(GGUFBuilder.oneTensor(type: 0, shape: [huge, 1 << 24], dataBytes: 64))) }
    #expect(wide?.contains("truncated") == true, "\(wide ?? "accepted")")
}

@Test func rowLengthMustFitBlocks() throws {
    // Q8_0 blocks hold 32 values; a row of 4 is corrupt.
    let message = formatError { _ = try GGUFFile(path: try temporaryFile(GGUFBuilder.valid(tensorType: 8))) }
    #expect(message?.contains("not a multiple") == true)
}

@Test func unsupportedVersion() throws {
    var bytes = GGUFBuilder.valid()
    bytes[4] = 1
    let message = formatError { _ = try GGUFFile(path: try temporaryFile(bytes)) }
    #expect(message?.contains("version 1") == true)
}
