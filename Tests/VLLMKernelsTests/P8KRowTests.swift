import CVLLMKernels
import Testing

/// VK_P8K activation rows (the super-block types' input on both packed kernels) against llama.cpp's `quantize_row_q8_K_ref`, written out
/// here from ggml's source: every ISA level gives its bytes.
struct P8KRowTests {
    /// ggml's Q8_K reference for one 256-column super-block: (d, quants).
    static func q8K(_ x: ArraySlice<Float>) -> (Float, [Int8]) {
        var amax: Float = 0, max: Float = 0
        for v in x where abs(v) > amax { amax = abs(v); max = v }
        guard amax != 0 else { return (0, [Int8](repeating: 0, count: 256)) }
        let iscale = -127 / max
        // nearest_int: the float's mantissa after adding 1.5 * 2^23 (round half to even).
        let q = x.map { v -> Int8 in
            let bits = Int32(bitPattern: (iscale * v + 12_582_912).bitPattern)
            return Int8(min(127, (bits & 0x007F_FFFF) - 0x0040_0000))
        }
        return (1 / iscale, q)
    }

    @Test func rowsHoldLlamaCppsQ8KQuantization() {
        var data = KernelTestData(seed: 11)
        let n = 1536
        var x = data.activations(n)
        for j in 256..<512 { x[j] = 0 }                                // an all-zero super-block: d = 0
        x[600] = 5; x[700] = -5                                         // equal magnitudes: the first sets the sign
        x[1100] = -7.25; x[1200] = 7.25
        for j in 1280..<1536 { x[j] = Float(j % 17 - 8) / 8 * 3 }      // many exact multiples, rounding ties
        let rowBytes = Int(vk_row_bytes(Int32(VK_P8K), Int64(n)))
        #expect(rowBytes % 64 == 0 && rowBytes >= n + 4 * (n / 256) + 2 * (n / 16) + 2 * (n / 32))
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            var row = [UInt8](repeating: 0xAB, count: rowBytes)
            vk_quantize_row(Int32(VK_P8K), x, &row, Int64(n))
            row.withUnsafeBytes { p in
                let q = p.bindMemory(to: Int8.self)
                let d = p.baseAddress!.advanced(by: n).assumingMemoryBound(to: Float.self)
                let s16 = p.baseAddress!.advanced(by: n + 4 * (n / 256)).assumingMemoryBound(to: Int16.self)
                let s32 = s16 + n / 16
                for g in 0..<(n / 256) {
                    let (dg, qg) = Self.q8K(x[(256 * g)..<(256 * g + 256)])
                    #expect(d[g].bitPattern == dg.bitPattern, "isa \(isa) super-block \(g): d \(d[g]) vs \(dg)")
                    #expect(Array(q[(256 * g)..<(256 * g + 256)]) == qg, "isa \(isa) super-block \(g)")
                }
                for h in 0..<(n / 16) {
                    #expect(Int(s16[h]) == (16 * h..<16 * h + 16).reduce(0) { $0 + Int(q[$1]) }, "isa \(isa) half \(h)")
                }
                for b in 0..<(n / 32) { #expect(s32[b] == s16[2 * b] + s16[2 * b + 1], "isa \(isa) block \(b)") }
            }
        }
    }

    /// The 256-wide super-block types take P8K rows on every packed kernel (llama.cpp's Q8_K activations); every
    /// other quantized type keeps P8 (llama.cpp's Q8_0 / Q8_1 blocks).
    @Test func theKQuantTilesTakeP8K() {
        for isa in availableISAs where isa >= Int32(VK_ISA_AVX2) {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            for type in [VK_Q2_K, VK_Q3_K, VK_Q4_K, VK_Q5_K, VK_Q6_K, VK_IQ4_XS].map(Int32.init) {
                #expect(vk_packed_activation_type(type) == Int32(VK_P8K), "isa \(isa) type \(type)")
            }
            for type in [VK_Q4_0, VK_Q4_1, VK_Q5_0, VK_Q5_1, VK_Q8_0, VK_IQ4_NL].map(Int32.init) {
                #expect(vk_packed_activation_type(type) == Int32(VK_P8), "isa \(isa) type \(type)")
            }
        }
    }
}
