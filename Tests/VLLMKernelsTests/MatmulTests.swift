import CVLLMKernels
import Testing

/// Every matmul path against the scalar reference, and the batch-invariance contract.
struct MatmulTests {
    static let types: [Int32] = [Int32(VK_F32), Int32(VK_F16), Int32(VK_BF16), Int32(VK_Q4_0), Int32(VK_Q4_1), Int32(VK_Q5_0),
                                 Int32(VK_Q5_1), Int32(VK_Q8_0), Int32(VK_Q4_K), Int32(VK_Q5_K), Int32(VK_Q6_K),
                                 Int32(VK_Q2_K), Int32(VK_Q3_K), Int32(VK_IQ4_NL), Int32(VK_IQ4_XS)]

    struct Problem {
        let type: Int32, rows: Int, columns: Int, tokens: Int
        let weights: [UInt8]
        let activations: [UInt8]
        let activationRowBytes: Int

        init(type: Int32, rows: Int = 37, columns: Int = 512, tokens: Int = 9, seed: UInt64) {
            var data = KernelTestData(seed: seed)
            self.type = type; self.rows = rows; self.columns = columns; self.tokens = tokens
            weights = data.weights(type: type, rows: rows, columns: columns)
            let actType = vk_activation_type(type)
            let actRowBytes = Int(vk_row_bytes(actType, Int64(columns)))
            activationRowBytes = actRowBytes
            let x = data.activations(tokens * columns)
            var converted = [UInt8](repeating: 0, count: actRowBytes * tokens)
            for t in 0..<tokens {
                x.withUnsafeBufferPointer { xs in
                    converted.withUnsafeMutableBytes { out in
                        vk_quantize_row(actType, xs.baseAddress! + t * columns, out.baseAddress! + t * actRowBytes, Int64(columns))
                    }
                }
            }
            activations = converted
        }

        func run(reference: Bool = false, tokens nt: Int? = nil, tokenOffset: Int = 0, r0: Int = 0, r1: Int? = nil) -> [Float] {
            let n = nt ?? tokens
            var out = [Float](repeating: .nan, count: n * rows)
            let rowBytes = Int(vk_row_bytes(type, Int64(columns)))
            weights.withUnsafeBytes { w in
                activations.withUnsafeBytes { x in
                    out.withUnsafeMutableBufferPointer { o in
                        let xs = x.baseAddress! + tokenOffset * activationRowBytes
                        let f = reference ? vk_matmul_ref : vk_matmul
                        f(type, w.baseAddress!, Int64(rowBytes), Int64(columns), xs, Int64(activationRowBytes), Int64(n),
                          o.baseAddress!, Int64(rows), Int64(r0), Int64(r1 ?? rows))
                    }
                }
            }
            return out
        }
    }

    @Test(arguments: types)
    func everyPathMatchesTheReference(_ type: Int32) {
        let problem = Problem(type: type, seed: UInt64(type) + 1)
        let reference = problem.run(reference: true)
        let scale = reference.map(abs).max()!
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            let fast = problem.run()
            let worst = zip(fast, reference).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-5 * max(1, scale), "type \(type) isa \(isa): max error \(worst) (scale \(scale))")
        }
    }

    @Test(arguments: types)
    func resultsDoNotDependOnTheBatch(_ type: Int32) {
        let problem = Problem(type: type, seed: UInt64(type) + 100)
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            let all = problem.run()
            for t in 0..<problem.tokens {
                let single = problem.run(tokens: 1, tokenOffset: t)
                for r in 0..<problem.rows { #expect(single[r] == all[t * problem.rows + r], "type \(type) isa \(isa) token \(t) row \(r)") }
            }
            var chunked = [Float](repeating: .nan, count: problem.tokens * problem.rows)
            for r0 in stride(from: 0, to: problem.rows, by: 5) {
                let part = problem.run(r0: r0, r1: min(problem.rows, r0 + 5))
                for t in 0..<problem.tokens { for r in r0..<min(problem.rows, r0 + 5) { chunked[t * problem.rows + r] = part[t * problem.rows + r] } }
            }
            #expect(chunked == all)
        }
    }

    @Test(arguments: [Int32(VK_F32), Int32(VK_F16), Int32(VK_BF16)])
    func widthsThatAreNotAMultipleOfTheVectorWidth(_ type: Int32) {
        for columns in [1, 7, 13, 100] {
            let problem = Problem(type: type, rows: 5, columns: columns, tokens: 6, seed: UInt64(columns))
            let reference = problem.run(reference: true)
            for isa in availableISAs {
                vk_set_isa(isa)
                defer { vk_set_isa(-1) }
                let worst = zip(problem.run(), reference).map { abs($0 - $1) }.max()!
                #expect(worst < 1e-5 * Float(columns), "type \(type) columns \(columns) isa \(isa)")
            }
        }
    }

    @Test func quantizedDotIsCloseToTheExactDotOfDequantizedValues() {
        // Q4_1 with Q8_1 activations uses m·s instead of m·Σx, so it is close to, not equal to, the exact product.
        let problem = Problem(type: Int32(VK_Q4_1), rows: 8, columns: 256, tokens: 2, seed: 7)
        let out = problem.run(reference: true)
        var w = [Float](repeating: 0, count: 256), x = [Float](repeating: 0, count: 256)
        for r in 0..<8 {
            problem.weights.withUnsafeBytes { vk_dequantize_row(Int32(VK_Q4_1), $0.baseAddress! + r * Int(vk_row_bytes(Int32(VK_Q4_1), 256)), &w, 256) }
            problem.activations.withUnsafeBytes { vk_dequantize_row(Int32(VK_Q8_1), $0.baseAddress!, &x, 256) }
            let exact = zip(w, x).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            #expect(abs(Double(out[r]) - exact) < 0.02 * max(1, abs(exact)))
        }
    }
}
