import CVLLMKernels
import Testing

/// Half-precision conversions against Swift's own IEEE Float16 and the bf16 definition.
struct ConversionTests {
    @Test func f16ToF32MatchesFloat16ForEveryBitPattern() {
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = vk_f16_to_f32(bits)
            #expect(got.bitPattern == expected.bitPattern || (got.isNaN && expected.isNaN))
        }
    }

    @Test func f32ToF16RoundsToNearestEven() {
        var data = KernelTestData(seed: 3)
        for _ in 0..<200_000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: data.next()))
            let got = vk_f32_to_f16(f)
            if f.isNaN { #expect(Float16(bitPattern: got).isNaN); continue }
            #expect(got == Float16(f).bitPattern, "\(f)")
        }
    }

    @Test func bf16RoundTrip() {
        var data = KernelTestData(seed: 4)
        for _ in 0..<100_000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: data.next()))
            guard !f.isNaN else { continue }
            let b = vk_f32_to_bf16(f)
            let back = vk_bf16_to_f32(b)
            // Round to nearest even on the low 16 bits.
            let bits = f.bitPattern
            let expected = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16
            #expect(UInt32(b) == expected)
            #expect(back.bitPattern == UInt32(b) << 16)
        }
    }

    @Test func q8ActivationQuantizerUsesX86Numerics() {
        // id = 127 / amax and ties to even (shared/notes/GGUF-FACTS.md §3.1); here amax = 127 so id = 1.
        var x = [Float](repeating: 0, count: 32)
        x[0] = 127; x[1] = -63.5; x[2] = 0.5; x[3] = 1.5; x[4] = 2.5; x[5] = -0.5
        var block = [UInt8](repeating: 0, count: 36)
        vk_quantize_row(Int32(VK_Q8_1), x, &block, 32)
        let q = block[4...].map { Int8(bitPattern: $0) }
        #expect(Array(q[0..<6]) == [127, -64, 0, 2, 2, 0])
        let half = { (i: Int) in Float(Float16(bitPattern: UInt16(block[i]) | UInt16(block[i + 1]) << 8)) }
        #expect(half(0) == 1)
        #expect(half(2) == Float(127 - 64 + 2 + 2))
    }
}

/// The vectorized activation quantizers must write the same bytes as the scalar ones.
struct QuantizerPathTests {
    /// 1024 columns are whole 16-block groups for the AVX-512 P8 path; 1792 adds a partial group of 8 blocks after
    /// them, 576 (SmolLM2's hidden size) one of 2, and 96 is a lone partial group with an odd block count.
    @Test(arguments: [Int32(VK_Q8_0), Int32(VK_Q8_1), Int32(VK_Q8_K), Int32(VK_P8)], [1024, 1792, 576, 96])
    func everyPathWritesTheSameBytes(_ type: Int32, _ columns: Int) {
        var data = KernelTestData(seed: UInt64(type))
        var x = data.activations(columns)
        x[5] = 0; x[40] = -x[41]; x[64..<96] = ArraySlice(repeating: 0, count: 32)  // ties, and an all-zero block
        x[columns - 20] = 1e-30; x[columns - 40..<columns - 32] = ArraySlice(repeating: 0, count: 8)
        let bytes = Int(vk_row_bytes(type, Int64(columns)))
        // A P8 row is padded to 64 bytes after its quants, d, s and sums; the padding is never written.
        let written = type == VK_P8 ? columns + columns / 32 * 12 : bytes
        vk_set_isa(Int32(VK_ISA_SCALAR))
        var reference = [UInt8](repeating: 0, count: bytes)
        vk_quantize_row(type, x, &reference, Int64(columns))
        for isa in availableISAs {
            vk_set_isa(isa)
            var got = [UInt8](repeating: 0xAA, count: bytes)
            vk_quantize_row(type, x, &got, Int64(columns))
            #expect(got[..<written] == reference[..<written], "isa \(isa), \(columns) columns")
        }
        vk_set_isa(-1)
    }
}
