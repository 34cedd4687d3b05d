import CVLLMKernels
import Foundation
import Testing
import VLLMKernels
import VLLMModelFormats
import VLLMModels

/// Tensor types the kernels cannot compute with are refused at load, by the kernels' own answer, with a message
/// that names the tensor, its type as ggml names it, and what is supported.
struct UnsupportedTypeTests {
    /// A GGUF file with no metadata and the given tensors (name, ggml type id, shape in ggml order, bytes of data).
    static func gguf(_ tensors: [(name: String, type: UInt32, shape: [UInt64], bytes: Int)]) throws -> String {
        var b: [UInt8] = Array("GGUF".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        u32(3); u64(UInt64(tensors.count)); u64(0)
        var offset = 0
        for t in tensors {
            u64(UInt64(t.name.utf8.count)); b += Array(t.name.utf8)
            u32(UInt32(t.shape.count))
            t.shape.forEach(u64)
            u32(t.type); u64(UInt64(offset))
            offset += (t.bytes + 31) / 32 * 32
        }
        while b.count % 32 != 0 { b.append(0) }
        b += [UInt8](repeating: 0, count: offset)
        let path = NSTemporaryDirectory() + "swift-vllm-test-\(UUID().uuidString).gguf"
        try Data(b).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func loadError(_ path: String) -> String? {
        do {
            _ = try ModelLoader.load(.gguf(path: path), pool: ThreadPool(threadCount: 1))
            return nil
        } catch {
            return error.message
        }
    }

    /// The types the kernels compute with today (CVLLMKernels.h); more may be added, none of these removed.
    static let known = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
                        "IQ4_NL", "IQ4_XS"]

    @Test func anIQ2_XXSTensorIsRefusedByNameAndType() throws {
        // IQ2_XXS (id 16): blocks of 256 weights in 66 bytes; TQ1_0 (id 34): 256 in 54 (ggml-common.h).
        let path = try Self.gguf([("token_embd.weight", 0, [8, 4], 128), ("blk.0.attn_q.weight", 16, [256, 4], 4 * 66),
                                  ("blk.0.attn_k.weight", 34, [256, 2], 2 * 54), ("blk.0.attn_v.weight", 16, [256, 2], 2 * 66)])
        let message = try #require(Self.loadError(path))
        let supported = TensorType.computable.map(\.name).joined(separator: ", ")
        #expect(message.contains("tensor 'blk.0.attn_q.weight'") && message.contains("has type IQ2_XXS"), "\(message)")
        #expect(message.contains("(2 more tensor(s) have unsupported types too: IQ2_XXS, TQ1_0)"), "\(message)")
        #expect(message.hasSuffix("supported tensor types: \(supported)"), "\(message)")
        #expect(!message.contains("\n"))
        for name in Self.known { #expect(message.contains(name), "\(name) missing from \(message)") }
    }

    /// Q8_K has a block layout in the kernels (it is the activation format of K-quant dot products) but no weight
    /// dot product: refused too, and a file of plain F32 tensors passes the check (it fails later, for its metadata).
    @Test func activationFormatsAreNotWeights() throws {
        let q8K = try #require(Self.loadError(try Self.gguf([("output.weight", 15, [256, 1], 292)])))
        #expect(q8K.contains("'output.weight'") && q8K.contains("has type Q8_K"), "\(q8K)")
        let plain = try #require(Self.loadError(try Self.gguf([("output.weight", 0, [8, 1], 32)])))
        #expect(!plain.contains("cannot compute"), "\(plain)")
    }

    /// The supported list is the kernels' answer over ggml's table, and the two agree on every block layout.
    @Test func computableTypesAreTheKernelsAndMatchGGMLLayouts() {
        let names = TensorType.computable.map(\.name)
        #expect(Set(Self.known).isSubset(of: Set(names)), "\(names)")
        for refused in ["Q8_1", "Q8_K", "IQ2_XXS", "IQ1_S", "TQ1_0", "TQ2_0", "I32", "F64", "MXFP4"] {
            #expect(!names.contains(refused), "\(refused)")
        }
        for type in TensorType.computable {
            #expect(Int(vk_type_block_size(type.rawValue)) == type.blockSize && Int(vk_type_block_bytes(type.rawValue)) == type.blockBytes,
                    "\(type.name): kernels \(vk_type_block_size(type.rawValue))/\(vk_type_block_bytes(type.rawValue)), ggml \(type.blockSize)/\(type.blockBytes)")
        }
    }
}
