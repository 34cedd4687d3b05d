import CVLLMKernels
import Testing
import VLLMKernels

/// F32 weights served in bfloat16 (`--dtype bfloat16`, pooling models under `auto`): their panels are exactly the
/// BF16 panels of the weights rounded to nearest even, so every BF16 kernel test covers their products.
struct F32AsBF16PackingTests {
    @Test func panelsEqualTheBF16PanelsOfTheRoundedRows() throws {
        if vk_packed_supported(Int32(VK_BF16)) != 1 { try Test.cancel("no AVX-512 BF16 on this CPU") }
        var data = KernelTestData(seed: 7)
        for (rows, columns) in [(37, 512), (16, 32), (5, 1536), (17, 96)] {
            let f32 = data.activations(rows * columns)
            // Ties and the values around them: RNE must round them to even as vcvtneps2bf16 does.
            var weights = f32
            weights[0] = Float(bitPattern: 0x3F80_8000); weights[1] = Float(bitPattern: 0x3F81_8000)
            weights[2] = Float(bitPattern: 0x3F80_8001); weights[3] = -0.0
            let bf16 = weights.map { vk_f32_to_bf16($0) }
            let bytes = Int(vk_packed_bytes(Int32(VK_BF16), Int64(rows), Int64(columns)))
            var fromF32 = [UInt8](repeating: 0xEE, count: bytes), fromBF16 = [UInt8](repeating: 0xDD, count: bytes)
            weights.withUnsafeBytes { w in
                vk_pack_f32_as_bf16(w.baseAddress!, Int64(4 * columns), Int64(rows), Int64(columns), &fromF32, 0, Int64((rows + 15) / 16))
            }
            bf16.withUnsafeBytes { w in
                vk_pack_weights(Int32(VK_BF16), w.baseAddress!, Int64(2 * columns), Int64(rows), Int64(columns), &fromBF16, 0,
                                Int64((rows + 15) / 16))
            }
            #expect(fromF32 == fromBF16, "\(rows)x\(columns)")
            #expect(bf16[0] == 0x3F80 && bf16[1] == 0x3F82 && bf16[2] == 0x3F81, "ties to even, above a tie up")
        }
    }

    /// `WeightMatrix.packing` picks the layout: bf16 panels only when asked and where the CPU has them.
    @Test func weightMatrixPacksF32AsBF16OnlyWhenAsked() throws {
        let columns = 64, rows = 16
        let weights = [Float](repeating: 0.5, count: rows * columns)
        try weights.withUnsafeBytes { w in
            let matrix = WeightMatrix(typeID: Int32(VK_F32), rows: rows, columns: columns, base: w.baseAddress!)
            let pool = ThreadPool(threadCount: 1)
            let asIs = matrix.packing(pool: pool, bfloat16Products: true, float32AsBFloat16: false)
            if vk_packed_supported(Int32(VK_F32)) == 1 { #expect(asIs.packed?.typeID == Int32(VK_F32)) }
            let rounded = matrix.packing(pool: pool, bfloat16Products: true, float32AsBFloat16: true)
            if vk_packed_supported(Int32(VK_BF16)) != 1 { try Test.cancel("no AVX-512 BF16 on this CPU") }
            #expect(rounded.packed?.typeID == Int32(VK_BF16))
            var row = [Float](repeating: .nan, count: columns)
            rounded.gatherRows([3], count: 1, into: &row)
            #expect(row.allSatisfy { $0 == 0.5 })
        }
    }
}
