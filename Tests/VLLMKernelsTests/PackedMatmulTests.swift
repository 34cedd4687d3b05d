import CVLLMKernels
import Testing

/// The packed 16-row-panel kernels against their scalar reference (bit for bit), against the ggml-order
/// reference on the same quantized values, and the batch-invariance contract.
struct PackedMatmulTests {
    /// BF16 only where the CPU has AVX-512 BF16 (elsewhere BF16 weights are not packed).
    static let types: [Int32] = [VK_Q4_0, VK_Q4_1, VK_Q5_0, VK_Q5_1, VK_Q8_0, VK_IQ4_NL, VK_Q2_K, VK_Q3_K, VK_Q4_K,
                                 VK_Q5_K, VK_Q6_K, VK_IQ4_XS, VK_F16, VK_F32, VK_BF16_F32_PANELS].map { Int32($0) }
        + (vk_packed_supported(Int32(VK_BF16)) == 1 ? [Int32(VK_BF16)] : [])

    struct Problem {
        let type: Int32, rows: Int, columns: Int, tokens: Int
        let weights: [UInt8]
        let packed: [UInt8]
        let packedOffset: Int
        let inputs: [Float]
        let p8: [UInt8]
        let p8RowBytes: Int

        /// The unpacked rows' ggml type (BF16 for VK_BF16_F32_PANELS).
        var rowType: Int32 { Self.rowType(type) }
        static func rowType(_ type: Int32) -> Int32 { type == VK_BF16_F32_PANELS ? Int32(VK_BF16) : type }

        init(type: Int32, rows: Int, columns: Int, tokens: Int, seed: UInt64) {
            var data = KernelTestData(seed: seed)
            self.type = type; self.rows = rows; self.columns = columns; self.tokens = tokens
            var w = data.weights(type: Self.rowType(type), rows: rows, columns: columns)
            // -128 is a legal Q8_0 quant that the unpacked AVX2 path avoids; the packed kernel must handle it.
            if type == VK_Q8_0 { for b in stride(from: 0, to: w.count, by: 34 * 7) { w[b + 2] = 0x80 } }
            weights = w
            let rowBytes = Int(vk_row_bytes(Self.rowType(type), Int64(columns)))
            var packed = [UInt8](repeating: 0xEE, count: Int(vk_packed_bytes(type, Int64(rows), Int64(columns))) + 64)
            // The kernel expects 64-byte alignment: pack at the first aligned offset of the array.
            let offset = packed.withUnsafeBytes { (64 - Int(bitPattern: $0.baseAddress!) % 64) % 64 }
            weights.withUnsafeBytes { src in
                packed.withUnsafeMutableBytes { dst in
                    vk_pack_weights(type, src.baseAddress!, Int64(rowBytes), Int64(rows), Int64(columns),
                                    dst.baseAddress! + offset, 0, Int64((rows + 15) / 16))
                }
            }
            self.packed = packed
            packedOffset = offset
            inputs = data.activations(tokens * columns)
            let activationType = vk_packed_activation_type(type)
            let stride = Int(vk_row_bytes(activationType, Int64(columns)))
            var rowsP8 = [UInt8](repeating: 0, count: stride * tokens)
            inputs.withUnsafeBufferPointer { x in
                rowsP8.withUnsafeMutableBytes { out in
                    for t in 0..<tokens { vk_quantize_row(activationType, x.baseAddress! + t * columns, out.baseAddress! + t * stride, Int64(columns)) }
                }
            }
            p8RowBytes = stride
            p8 = rowsP8
        }

        /// The packed kernel (or its reference) over tokens [t0, t0 + count) and rows [r0, r1).
        func run(reference: Bool = false, t0: Int = 0, count: Int? = nil, r0: Int = 0, r1: Int? = nil) -> [Float] {
            let n = count ?? tokens
            var out = [Float](repeating: .nan, count: n * rows)
            let rowBytes = Int(vk_row_bytes(rowType, Int64(columns)))
            p8.withUnsafeBytes { x in
                out.withUnsafeMutableBufferPointer { o in
                    let xs = x.baseAddress! + t0 * p8RowBytes
                    if reference {
                        weights.withUnsafeBytes { w in
                            vk_matmul_packed_ref(type, w.baseAddress!, Int64(rowBytes), Int64(columns), xs, Int64(p8RowBytes),
                                                 Int64(n), o.baseAddress!, Int64(rows), Int64(r0), Int64(r1 ?? rows))
                        }
                    } else {
                        packed.withUnsafeBytes { w in
                            vk_matmul_packed(type, w.baseAddress! + packedOffset, Int64(columns), xs, Int64(p8RowBytes),
                                             Int64(n), o.baseAddress!, Int64(rows), Int64(r0), Int64(r1 ?? rows))
                        }
                    }
                }
            }
            return out
        }
    }

    @Test(arguments: types)
    func kernelEqualsTheScalarReferenceBitForBit(_ type: Int32) throws {
        try Self.requirePackedKernel(type)
        // Every packed kernel this CPU has: pinned to AVX2, an AVX-512 machine runs the AVX2 kernel.
        for isa in Self.packedISAs(type) {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            // (rows, columns, tokens); one and two tokens take the AVX2 kernel's one-pass tile over both halves.
            let shapes = Self.superBlocks(type)
                ? [(37, 512, 11), (16, 256, 1), (48, 768, 20), (5, 1536, 3), (17, 256, 9), (29, 768, 2)]
                : [(37, 512, 11), (16, 32, 1), (48, 576, 20), (5, 1536, 3), (17, 96, 9), (29, 576, 2)]
                    // F16 / F32: past the kernels' 512-column slices and 48-token blocks.
                    + (Self.floatPanels(type) ? [(20, 1088, 53)] : [])
            for (rows, columns, tokens) in shapes {
                let problem = Problem(type: type, rows: rows, columns: columns, tokens: tokens, seed: UInt64(rows * columns + Int(type)))
                let fast = problem.run(), reference = problem.run(reference: true)
                #expect(fast.map(\.bitPattern) == reference.map(\.bitPattern), "isa \(isa) type \(type) \(rows)x\(columns), \(tokens) tokens")
            }
        }
    }

    @Test(arguments: types)
    func resultsDoNotDependOnTheBatchOrTheRowRange(_ type: Int32) throws {
        try Self.requirePackedKernel(type)
        for isa in Self.packedISAs(type) {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            // Built under the pin: the activation rows are the pinned kernel's.
            checkBatchAndRowRangeInvariance(Problem(type: type, rows: 45, columns: 512, tokens: 19, seed: 99))
        }
    }

    /// A tied embedding is gathered from the output's panels: every row, including the last partial panel's,
    /// dequantizes to the same bits as from the GGUF rows (k = 8192 also crosses the 256-block rebuild chunk).
    @Test(arguments: types)
    func rowsGatheredFromPanelsEqualTheOriginalRows(_ type: Int32) throws {
        try Self.requirePackedKernel(type)
        for (rowCount, columns) in Self.superBlocks(type) ? [(37, 768), (16, 256), (3, 8192)] : [(37, 576), (16, 32), (3, 8192), (5, 96)] {
            let problem = Problem(type: type, rows: rowCount, columns: columns, tokens: 1, seed: UInt64(rowCount + columns))
            let rows = (0..<rowCount).reversed().map(Int32.init) + [0, Int32(rowCount - 1)]
            var fromPanels = [Float](repeating: .nan, count: rows.count * columns), fromRows = fromPanels
            problem.packed.withUnsafeBytes { p in
                vk_get_rows_packed(type, p.baseAddress! + problem.packedOffset, Int64(columns), rows, Int64(rows.count), &fromPanels)
            }
            problem.weights.withUnsafeBytes { w in
                vk_get_rows(problem.rowType, w.baseAddress!, vk_row_bytes(problem.rowType, Int64(columns)), Int64(columns), rows, Int64(rows.count), &fromRows)
            }
            #expect(fromPanels.map(\.bitPattern) == fromRows.map(\.bitPattern), "type \(type) \(rowCount)x\(columns)")
            #expect(!fromRows.contains { $0.isNaN })
        }
    }

    /// Cancels the case where this CPU, or VLLM_CPU_ISA=scalar, leaves `type` no packed kernel (its weights then stay
    /// in rows, which MatmulTests covers).
    static func requirePackedKernel(_ type: Int32) throws {
        if vk_packed_supported(type) != 1 { try Test.cancel("no packed kernel for type \(type) at ISA level \(vk_cpu_isa())") }
    }

    /// F16, F32 and BF16 in f32-FMA panels: f32 activations, one fma chain a product.
    static func floatPanels(_ type: Int32) -> Bool { type == VK_F16 || type == VK_F32 || type == VK_BF16_F32_PANELS }

    /// Types of 256-column super-blocks (whose rows are a multiple of 256).
    static func superBlocks(_ type: Int32) -> Bool { vk_type_block_size(Problem.rowType(type)) == 256 }

    /// The ISA levels that run `type`'s packed kernel (AVX2 and up; AVX-512 for BF16).
    static func packedISAs(_ type: Int32) -> [Int32] {
        availableISAs.filter { $0 >= Int32(type == VK_BF16 ? VK_ISA_AVX512 : VK_ISA_AVX2) }
    }

    private func checkBatchAndRowRangeInvariance(_ problem: Problem) {
        let all = problem.run()
        for t in 0..<problem.tokens {
            let single = problem.run(t0: t, count: 1)
            #expect(single.map(\.bitPattern) == all[(t * problem.rows)..<((t + 1) * problem.rows)].map(\.bitPattern), "token \(t)")
        }
        var chunked = [Float](repeating: .nan, count: all.count)
        for r0 in stride(from: 0, to: problem.rows, by: 16) {
            let r1 = min(problem.rows, r0 + 16)
            let part = problem.run(r0: r0, r1: r1)
            for t in 0..<problem.tokens { for r in r0..<r1 { chunked[t * problem.rows + r] = part[t * problem.rows + r] } }
            // Rows outside the range are never written.
            for t in 0..<problem.tokens { #expect(part[(t * problem.rows)..<(t * problem.rows + r0)].allSatisfy { $0.isNaN }) }
        }
        #expect(chunked.map(\.bitPattern) == all.map(\.bitPattern))
    }

    /// The packed numerics differ from ggml's only in rounding: same quantized values, fma instead of mul + add.
    /// Checked on every packed ISA level.
    @Test(arguments: types)
    func referenceIsCloseToTheGGMLOrderReference(_ type: Int32) {
        for isa in Self.packedISAs(type).isEmpty ? [vk_get_isa()] : Self.packedISAs(type) {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            checkAgainstTheGGMLOrderReference(type)
        }
    }

    private func checkAgainstTheGGMLOrderReference(_ type: Int32) {
        let problem = Problem(type: type, rows: 21, columns: 512, tokens: 5, seed: 5)
        let packed = problem.run(reference: true)
        let act = vk_activation_type(problem.rowType)
        let actRowBytes = Int(vk_row_bytes(act, 512))
        var x = [UInt8](repeating: 0, count: actRowBytes * problem.tokens)
        problem.inputs.withUnsafeBufferPointer { f in
            x.withUnsafeMutableBytes { for t in 0..<problem.tokens { vk_quantize_row(act, f.baseAddress! + t * 512, $0.baseAddress! + t * actRowBytes, 512) } }
        }
        var ggml = [Float](repeating: 0, count: packed.count)
        problem.weights.withUnsafeBytes { w in
            x.withUnsafeBytes { xs in
                vk_matmul_ref(problem.rowType, w.baseAddress!, vk_row_bytes(problem.rowType, 512), 512, xs.baseAddress!, Int64(actRowBytes),
                              Int64(problem.tokens), &ggml, Int64(problem.rows), 0, Int64(problem.rows))
            }
        }
        let scale = ggml.map(abs).max()!
        let worst = zip(packed, ggml).map { abs($0 - $1) }.max()!
        if Self.floatPanels(type) {
            // The same f32 products summed in another order: a few ulps of sum |w x| apart.
            let bound = Self.absoluteProducts(problem).map { $0 * 1024 * Float.ulpOfOne / 2 + 1e-30 }
            for (i, (a, b)) in zip(packed, ggml).enumerated() { #expect(abs(a - b) <= bound[i], "output \(i): \(a) vs \(b)") }
        } else if type == VK_BF16 {
            // bf16 activations (8 significant bits): each x is off by at most 2^-8 of itself, so an output by
            // 2^-8 * sum |w x|, plus the f32 sums' own rounding.
            let bound = Self.absoluteProducts(problem).map { $0 / 256 * 1.01 + 1e-5 }
            for (i, (a, b)) in zip(packed, ggml).enumerated() { #expect(abs(a - b) <= bound[i], "output \(i): \(a) vs \(b)") }
            // And it is not the f32 result: the activations really are rounded.
            #expect(worst > 1e-5 * max(1, scale))
        } else {
            // P8 rows hold ggml's Q8_0 / Q8_1 quants and P8K rows its Q8_K quants: the same integers as ggml's own
            // activations, only the float steps' rounding differs.
            #expect(worst <= 1e-5 * max(1, scale), "max difference \(worst) at scale \(scale)")
        }
    }

    /// sum_j |w[r, j] * x[t, j]| for every output (BF16, F16 or F32 weights), laid out as the outputs.
    static func absoluteProducts(_ problem: Problem) -> [Float] {
        var sums = [Float](repeating: 0, count: problem.tokens * problem.rows)
        var w = [Float](repeating: 0, count: problem.rows * problem.columns)
        let all = (0..<problem.rows).map(Int32.init)
        problem.weights.withUnsafeBytes { b in
            vk_get_rows(problem.rowType, b.baseAddress!, vk_row_bytes(problem.rowType, Int64(problem.columns)), Int64(problem.columns),
                        all, Int64(problem.rows), &w)
        }
        for t in 0..<problem.tokens {
            for r in 0..<problem.rows {
                var sum: Float = 0
                for j in 0..<problem.columns {
                    sum += abs(w[r * problem.columns + j] * problem.inputs[t * problem.columns + j])
                }
                sums[t * problem.rows + r] = sum
            }
        }
        return sums
    }

    /// PB16 rows are `vcvtneps2bf16`'s bytes: nearest even, denormals to signed zero, NaN quieted.
    @Test func pb16ActivationsMatchTheScalarConversion() {
        let specials: [Float] = [0, -0, 1, -1, .infinity, -.infinity, .nan, Float(bitPattern: 0x7F80_0001),
                                 Float(bitPattern: 0x0000_0001), Float(bitPattern: 0x8040_0000), .leastNormalMagnitude,
                                 Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), .greatestFiniteMagnitude]
        var data = KernelTestData(seed: 17)
        let x = specials + data.activations(83)
        let n = Int64(x.count)
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            var row = [UInt16](repeating: 0xFFFF, count: Int(vk_row_bytes(Int32(VK_PB16), n)) / 2)
            vk_quantize_row(Int32(VK_PB16), x, &row, n)
            for (i, v) in x.enumerated() {
                let expected: UInt16 = v.bitPattern & 0x7F80_0000 == 0 ? UInt16(v.bitPattern >> 16 & 0x8000) : vk_f32_to_bf16(v)
                #expect(row[i] == expected, "isa \(isa): element \(i) (\(v)): \(row[i]) vs \(expected)")
            }
        }
    }

    /// P8 rows carry exactly the Q8_1 quantization of each block.
    @Test func p8ActivationsHoldTheQ8_1Quantization() {
        var data = KernelTestData(seed: 3)
        let x = data.activations(256)
        var q81 = [UInt8](repeating: 0, count: Int(vk_row_bytes(Int32(VK_Q8_1), 256)))
        var p8 = [UInt8](repeating: 0, count: Int(vk_row_bytes(Int32(VK_P8), 256)))
        vk_quantize_row(Int32(VK_Q8_1), x, &q81, 256)
        vk_quantize_row(Int32(VK_P8), x, &p8, 256)
        p8.withUnsafeBytes { p in
            let d = p.baseAddress!.advanced(by: 256).assumingMemoryBound(to: Float.self)
            let sums = p.baseAddress!.advanced(by: 256 + 64).assumingMemoryBound(to: Int32.self)
            for b in 0..<8 {
                let block = Array(q81[(36 * b)..<(36 * b + 36)])
                #expect(Array(p8[(32 * b)..<(32 * b + 32)]) == Array(block[4...]))
                #expect(d[b] == vk_f16_to_f32(UInt16(block[0]) | UInt16(block[1]) << 8))
                #expect(d[8 + b] == vk_f16_to_f32(UInt16(block[2]) | UInt16(block[3]) << 8))
                #expect(sums[b] == block[4...].reduce(Int32(0)) { $0 + Int32(Int8(bitPattern: $1)) })
            }
        }
    }
}
