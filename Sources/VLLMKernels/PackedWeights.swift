import CVLLMKernels

/// A weight matrix rearranged into 16-row panels for the packed kernels, AVX-512 VNNI or AVX2 (layout in CVLLMKernels.h).
/// The GGUF rows' exact values at about their size (at most 0.5 bit a weight more), in the order the kernel reads
/// them, 64-byte aligned, cut from a
/// `PackedArena` (collapsed into huge pages after the load, where the system grants them).
public final class PackedWeights: @unchecked Sendable {
    private let chunk: PackedArena.Chunk
    /// The first panel.
    public let base: UnsafeRawPointer
    /// Size of the packed copy in bytes.
    public let byteCount: Int
    /// The packed functions' type id: the matrix's own, or VK_BF16_F32_PANELS for BF16 in f32-FMA panels.
    public let typeID: Int32

    /// Packs `matrix` across `pool` into memory from `arena` (a model's matrices share one), or returns nil when
    /// its type has no packed kernel on this CPU. `layout` is the packed type id when it is not the matrix's own:
    /// VK_BF16_F32_PANELS for BF16 weights, VK_BF16 for F32 weights rounded to bf16.
    public init?(_ matrix: WeightMatrix, pool: ThreadPool, arena: PackedArena = PackedArena(), layout: Int32? = nil) {
        let type = layout ?? matrix.typeID
        typeID = type
        guard vk_packed_supported(type) == 1, matrix.columns % 32 == 0 else { return nil }
        let roundsF32 = type == VK_BF16 && matrix.typeID == VK_F32
        guard type == matrix.typeID || roundsF32 || (type == VK_BF16_F32_PANELS && matrix.typeID == VK_BF16) else { return nil }
        byteCount = Int(vk_packed_bytes(type, Int64(matrix.rows), Int64(matrix.columns)))
        let (chunk, destination) = arena.allocate(byteCount)
        self.chunk = chunk
        base = UnsafeRawPointer(destination)
        let panels = (matrix.rows + 15) / 16
        let perTask = max(1, panels / (pool.threadCount * 4))
        pool.parallelFor((panels + perTask - 1) / perTask) { task in
            let p0 = task * perTask, p1 = min(panels, p0 + perTask)
            if roundsF32 {
                vk_pack_f32_as_bf16(matrix.base, Int64(matrix.rowBytes), Int64(matrix.rows), Int64(matrix.columns),
                                    destination, Int64(p0), Int64(p1))
            } else {
                vk_pack_weights(type, matrix.base, Int64(matrix.rowBytes), Int64(matrix.rows), Int64(matrix.columns),
                                destination, Int64(p0), Int64(p1))
            }
        }
    }
}
