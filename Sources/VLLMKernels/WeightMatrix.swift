import CVLLMKernels

/// A weight matrix used in place from a memory map: one row per output feature, each row `columns`
/// elements of `typeID` (a ggml type id; quantized rows are sequences of blocks).
public struct WeightMatrix: @unchecked Sendable {
    /// ggml type id of the elements (VK_F32, VK_Q4_1, ...).
    public let typeID: Int32
    public let rows: Int
    public let columns: Int
    public let rowBytes: Int
    /// The first byte of row 0; the storage outlives the matrix (it belongs to the model's mapped files).
    public let base: UnsafeRawPointer
    /// The same weights in 16-row panels, when this CPU has a packed kernel for the type (see `packing(pool:)`).
    public private(set) var packed: PackedWeights?

    public init(typeID: Int32, rows: Int, columns: Int, base: UnsafeRawPointer) {
        self.typeID = typeID
        self.rows = rows
        self.columns = columns
        self.rowBytes = Int(vk_row_bytes(typeID, Int64(columns)))
        self.base = base
    }

    /// This matrix with a packed copy for the packed kernels (AVX2 or better) where the CPU and type allow one
    /// (unchanged otherwise). BF16 weights get bf16-product panels (bf16-rounded activations, `vdpbf16ps`) where
    /// the CPU has AVX-512 BF16 and `bfloat16Products` is true, else f32-FMA panels (VK_BF16_F32_PANELS). F32
    /// weights get bf16-product panels of their bf16 roundings where the CPU has them and `float32AsBFloat16` is
    /// true (a checkpoint's float32 served in bfloat16, as vLLM downcasts it), else f32-FMA panels of their own bits.
    /// `base` stays valid for the other paths (embedding lookups, ISA overrides). The copy's memory comes from `arena`.
    public func packing(pool: ThreadPool, bfloat16Products: Bool = true, float32AsBFloat16: Bool = false,
                        arena: PackedArena = PackedArena()) -> WeightMatrix {
        var copy = self
        var layout: Int32? = nil
        if typeID == VK_BF16 && (!bfloat16Products || vk_packed_supported(typeID) == 0) { layout = Int32(VK_BF16_F32_PANELS) }
        if typeID == VK_F32 && float32AsBFloat16 && vk_packed_supported(Int32(VK_BF16)) == 1 { layout = Int32(VK_BF16) }
        copy.packed = packed ?? PackedWeights(self, pool: pool, arena: arena, layout: layout)
        return copy
    }

    /// The activation format this matrix's dot products consume.
    public var activationTypeID: Int32 { vk_activation_type(typeID) }

    /// Dequantizes rows `rows` to f32 (`dst` holds `rows.count * columns` floats): from the packed copy when there
    /// is one (the same values; the mapped file's pages may have been released), else from `base`.
    public func gatherRows(_ rows: UnsafePointer<Int32>, count: Int, into dst: UnsafeMutablePointer<Float>) {
        if let packed {
            vk_get_rows_packed(packed.typeID, packed.base, Int64(columns), rows, Int64(count), dst)
        } else {
            vk_get_rows(typeID, base, Int64(rowBytes), Int64(columns), rows, Int64(count), dst)
        }
    }
}
