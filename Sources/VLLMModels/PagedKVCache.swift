#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CVLLMKernels

/// Element type of the KV cache.
public enum KVCacheType: String, Sendable, CaseIterable {
    case f32, f16

    var typeID: Int32 { self == .f32 ? Int32(VK_F32) : Int32(VK_F16) }
    var bytes: Int { self == .f32 ? 4 : 2 }
}

/// The KV cache as fixed-size blocks in one preallocated region per layer:
/// K and V each `[blockCount, blockSize, kvHeadCount, headDim]` of `type`.
/// A token at position p of a sequence lives in block `blockTable[p / blockSize]`, slot `p % blockSize`.
/// Which blocks belong to which sequence is the engine's business; this type only holds the memory.
public final class PagedKVCache: @unchecked Sendable {
    public let blockCount: Int
    public let blockSize: Int
    public let layerCount: Int
    public let kvHeadCount: Int
    public let headDim: Int
    public let type: KVCacheType
    /// Per layer: K then V, each `blockCount * blockSize * kvHeadCount * headDim` elements, inside `region`.
    private let keys: [UnsafeMutableRawPointer]
    private let values: [UnsafeMutableRawPointer]
    private let region: UnsafeMutableRawPointer
    private let regionBytes: Int

    public init(blockCount: Int, blockSize: Int, layerCount: Int, kvHeadCount: Int, headDim: Int, type: KVCacheType) {
        precondition(blockCount > 0 && blockSize > 0)
        self.blockCount = blockCount
        self.blockSize = blockSize
        self.layerCount = layerCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.type = type
        // Every K and V region starts on a 2 MiB boundary, so each can be backed by transparent huge pages.
        let bytes = blockCount * blockSize * kvHeadCount * headDim * type.bytes
        let stride = (bytes + Self.hugePage - 1) / Self.hugePage * Self.hugePage
        (region, regionBytes) = Self.mapLazily(2 * layerCount * stride)
        let base = (Int(bitPattern: region) + Self.hugePage - 1) / Self.hugePage * Self.hugePage
        keys = (0..<layerCount).map { UnsafeMutableRawPointer(bitPattern: base + 2 * $0 * stride)! }
        values = (0..<layerCount).map { UnsafeMutableRawPointer(bitPattern: base + (2 * $0 + 1) * stride)! }
    }

    /// Bytes one token occupies across all layers (K and V).
    public static func bytesPerToken(layerCount: Int, kvHeadCount: Int, headDim: Int, type: KVCacheType) -> Int {
        2 * layerCount * kvHeadCount * headDim * type.bytes
    }

    /// Total bytes held.
    public var byteCount: Int { Self.bytesPerToken(layerCount: layerCount, kvHeadCount: kvHeadCount, headDim: headDim, type: type) * blockCount * blockSize }

    deinit { munmap(region, regionBytes) }

    func layer(_ index: Int) -> (keys: UnsafeMutableRawPointer, values: UnsafeMutableRawPointer) {
        (keys[index], values[index])
    }

    private static let hugePage = 2 << 20

    /// One anonymous mapping with room to align to a huge page. Pages are touched only when used, and
    /// `MADV_HUGEPAGE` makes each first touch one fault per 2 MiB instead of 512: on this VM a first touch
    /// of fresh memory runs at 150-400 MB/s, and the 4 KiB faults took 13% of a fresh 64-request benchmark
    /// (5% with huge pages). Prefaulting the whole budget instead cost 7-12 s of startup for 2 GiB here.
    /// Never-written slots are never read.
    private static func mapLazily(_ bytes: Int) -> (UnsafeMutableRawPointer, Int) {
        let total = bytes + hugePage
        guard let p = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            fatalError("cannot map \(total) bytes for the KV cache: \(String(cString: strerror(errno)))")
        }
        #if os(Linux)
        _ = madvise(p, total, MADV_HUGEPAGE)
        #endif
        return (p, total)
    }
}
