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
    /// Per layer: K then V, each `blockCount * blockSize * kvHeadCount * headDim` elements.
    private let keys: [UnsafeMutableRawPointer]
    private let values: [UnsafeMutableRawPointer]

    public init(blockCount: Int, blockSize: Int, layerCount: Int, kvHeadCount: Int, headDim: Int, type: KVCacheType) {
        precondition(blockCount > 0 && blockSize > 0)
        self.blockCount = blockCount
        self.blockSize = blockSize
        self.layerCount = layerCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.type = type
        let bytes = blockCount * blockSize * kvHeadCount * headDim * type.bytes
        keys = (0..<layerCount).map { _ in Self.allocateLazily(bytes) }
        values = (0..<layerCount).map { _ in Self.allocateLazily(bytes) }
    }

    /// Bytes one token occupies across all layers (K and V).
    public static func bytesPerToken(layerCount: Int, kvHeadCount: Int, headDim: Int, type: KVCacheType) -> Int {
        2 * layerCount * kvHeadCount * headDim * type.bytes
    }

    /// Total bytes held.
    public var byteCount: Int { Self.bytesPerToken(layerCount: layerCount, kvHeadCount: kvHeadCount, headDim: headDim, type: type) * blockCount * blockSize }

    deinit {
        for p in keys { p.deallocate() }
        for p in values { p.deallocate() }
    }

    func layer(_ index: Int) -> (keys: UnsafeMutableRawPointer, values: UnsafeMutableRawPointer) {
        (keys[index], values[index])
    }

    /// Large allocations come straight from mmap, so untouched pages cost no memory; never-written slots are never read.
    private static func allocateLazily(_ bytes: Int) -> UnsafeMutableRawPointer {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
        return p
    }
}
