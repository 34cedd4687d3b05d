import VLLMKernels

/// Element type of the KV cache.
public enum KVCacheType: String, Sendable, CaseIterable {
    case f32, f16

    /// The ggml type id the kernels take.
    public var typeID: Int32 { self == .f32 ? Kernels.f32TypeID : Kernels.f16TypeID }
    var bytes: Int { self == .f32 ? 4 : 2 }
}

/// The KV cache as fixed-size blocks in one preallocated region per layer of a block (`layout.regionCount`):
/// K and V each `[blockCount, blockSize, kvHeadCount, headDim]` of `type`. Layer L lives in region
/// `layout.regionOfLayer[L]` and is addressed through its group's block table (`layout.groupOfLayer[L]`): a token at
/// position p lives in block `blockTables[group][p / blockSize]`, slot `p % blockSize`. Which blocks belong to which
/// sequence is the engine's business; this type only holds the memory.
public final class PagedKVCache: @unchecked Sendable {
    public let blockCount: Int
    public let blockSize: Int
    public let layerCount: Int
    public let layout: KVCacheLayout
    public let kvHeadCount: Int
    public let headDim: Int
    public let type: KVCacheType
    /// Per layer: K then V, each `blockCount * blockSize * kvHeadCount * headDim` elements, page-aligned
    /// inside `region`.
    private let keys: [UnsafeMutableRawPointer]
    private let values: [UnsafeMutableRawPointer]
    private let region: UnsafeMutableRawPointer
    private let regionBytes: Int
    private var prefault: BackgroundPrefault?

    public convenience init(blockCount: Int, blockSize: Int, layerCount: Int, kvHeadCount: Int, headDim: Int, type: KVCacheType) {
        self.init(blockCount: blockCount, blockSize: blockSize, layout: KVCacheLayout(layerCount: layerCount), kvHeadCount: kvHeadCount,
                  headDim: headDim, type: type)
    }

    public init(blockCount: Int, blockSize: Int, layout: KVCacheLayout, kvHeadCount: Int, headDim: Int, type: KVCacheType) {
        precondition(blockCount > 0 && blockSize > 0)
        self.blockCount = blockCount
        self.blockSize = blockSize
        self.layout = layout
        let layerCount = layout.regionCount
        self.layerCount = layout.groupOfLayer.count
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.type = type
        let layerBytes = blockCount * blockSize * kvHeadCount * headDim * type.bytes
        let stride = (layerBytes + Self.page - 1) / Self.page * Self.page
        regionBytes = 2 * layerCount * stride
        let base = Self.mapLazily(regionBytes)
        region = base
        keys = (0..<layerCount).map { base + 2 * $0 * stride }
        values = (0..<layerCount).map { base + (2 * $0 + 1) * stride }
    }

    /// Starts faulting the cache's pages in on a thread of idle priority, blocks in the order the block pool
    /// hands them out (ascending ids), so the first write into a fresh block seldom pays for its pages.
    /// Faulted inside the steps, first touches cost 13% of a fresh 64-request run on this VM (2.3% once
    /// prefaulted); up front, the 2 GiB default would hold back the first /health by about 2 s. The thread runs
    /// only on otherwise idle cores and stops when the cache is freed. Returns at once.
    public func prefaultInBackground() {
        guard prefault == nil else { return }
        let perBlock = blockSize * kvHeadCount * headDim * type.bytes
        let ranges = (keys + values).map { (Int(bitPattern: $0), perBlock) }
        prefault = BackgroundPrefault(regions: ranges, blockCount: blockCount, blocksPerChunk: max(1, (256 << 10) / perBlock))  // 256 KiB a region
    }

    /// Bytes one token slot of a block occupies across its layer regions (K and V).
    public static func bytesPerToken(layerCount regions: Int, kvHeadCount: Int, headDim: Int, type: KVCacheType) -> Int {
        2 * regions * kvHeadCount * headDim * type.bytes
    }

    /// Total bytes held.
    public var byteCount: Int {
        Self.bytesPerToken(layerCount: layout.regionCount, kvHeadCount: kvHeadCount, headDim: headDim, type: type) * blockCount * blockSize
    }

    deinit {
        prefault?.stop()
        munmap(region - Self.page, regionBytes + 2 * Self.page)
    }

    /// One layer's K and V regions, each `[blockCount, blockSize, kvHeadCount, headDim]` of `type`: models write
    /// new tokens into them (`Kernels.kvWrite`) and attend through the block tables of `group`
    /// (`Kernels.pagedAttention`).
    public func layer(_ index: Int) -> (keys: UnsafeMutableRawPointer, values: UnsafeMutableRawPointer, group: Int) {
        let region = layout.regionOfLayer[index]
        return (keys[region], values[region], layout.groupOfLayer[index])
    }

    private static let page = 4096

    /// One anonymous mapping of 4 KiB pages: pages cost memory only once touched, and never-written slots are
    /// never read. Transparent huge pages are not asked for: on this VM they are handed out at about 50 MB/s
    /// (4 KiB pages populate at about 1 GB/s), and no step got measurably faster with them.
    /// An inaccessible guard page on each side keeps the kernel from merging the cache with neighbouring
    /// anonymous memory (the packed weights, say), so smaps shows it as one area of exactly `bytes` (which
    /// tools/bench-compare.sh relies on to tell KV pages from the rest), and a stray access past it faults.
    private static func mapLazily(_ bytes: Int) -> UnsafeMutableRawPointer {
        guard let p = mmap(nil, bytes + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED,
              mprotect(p + page, bytes, PROT_READ | PROT_WRITE) == 0 else {
            fatalError("cannot map \(bytes) bytes for the KV cache: \(String(cString: strerror(errno)))")
        }
        return p + page
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
