import CVLLMKernels
import Foundation
import Testing
import VLLMKernels

/// Norm, activation, rotary embedding and the thread pool against direct formulas.
struct ElementwiseTests {
    @Test func rmsNorm() {
        var data = KernelTestData(seed: 5)
        let x = data.activations(576), w = data.activations(576)
        var y = [Float](repeating: 0, count: 576)
        vk_rms_norm(x, w, &y, 576, 1e-5)
        let mean = x.reduce(0.0) { $0 + Double($1) * Double($1) } / 576
        for i in 0..<576 { #expect(abs(Double(y[i]) - Double(x[i]) / (mean + 1e-5).squareRoot() * Double(w[i])) < 1e-5) }
    }

    /// The lane-split double sum of the dispatched norm against the serial reference, at widths with tails.
    @Test(arguments: [576, 2048, 37, 1])
    func rmsNormMatchesItsScalarReference(_ n: Int) {
        var data = KernelTestData(seed: 15)
        let x = data.activations(n).map { $0 * 40 }, w = data.activations(n)
        var fast = [Float](repeating: 0, count: n), reference = fast
        vk_rms_norm_ref(x, w, &reference, Int64(n), 1e-6)
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            vk_rms_norm(x, w, &fast, Int64(n), 1e-6)
            for i in 0..<n { #expect(abs(fast[i] - reference[i]) <= abs(reference[i]) * 2.4e-7, "isa \(isa)") }
        }
    }

    /// The fused residual add and norm against its two steps (x += y + b, then the norm) on every ISA: the same
    /// bits, with and without the residual and its bias, at widths with a tail after the 32-element groups.
    @Test(arguments: [576, 37, 1536])
    func addRmsNormIsTheAddThenTheNorm(_ n: Int) {
        var data = KernelTestData(seed: 16)
        let x0 = data.activations(n).map { $0 * 40 }, y = data.activations(n), b = data.activations(n), w = data.activations(n)
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            for (residual, bias) in [(false, false), (true, false), (true, true)] {
                var expectedX = x0
                if residual { for i in 0..<n { expectedX[i] += bias ? y[i] + b[i] : y[i] } }
                var expected = [Float](repeating: 0, count: n)
                vk_rms_norm(expectedX, w, &expected, Int64(n), 1e-6)
                var x = x0, h = [Float](repeating: .nan, count: n)
                vk_add_rms_norm(&x, residual ? y : nil, bias ? b : nil, w, &h, Int64(n), 1e-6)
                #expect(x == expectedX, "isa \(isa) residual \(residual) bias \(bias)")
                #expect(h == expected, "isa \(isa) residual \(residual) bias \(bias)")
            }
        }
    }

    @Test func siluMul() {
        var data = KernelTestData(seed: 6)
        let g = data.activations(100), u = data.activations(100)
        var out = [Float](repeating: 0, count: 100)
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            vk_silu_mul(g, u, &out, 100)
            for i in 0..<100 { #expect(abs(Double(out[i]) - Double(g[i]) / (1 + exp(-Double(g[i]))) * Double(u[i])) < 1e-5, "isa \(isa)") }
        }
    }

    @Test(arguments: [false, true])
    func ropeRotatesThePairsOfEachLayout(_ neox: Bool) {
        var data = KernelTestData(seed: 8)
        let headDim = 16, heads = 2, pos: Int32 = 7
        let invFreq = (0..<(headDim / 2)).map { Float(pow(10000.0, -2.0 * Double($0) / Double(headDim))) }
        let x = data.activations(heads * headDim)
        var y = x
        vk_rope(&y, Int64(heads), Int64(headDim), Int64(headDim), pos, invFreq, neox ? 1 : 0)
        for h in 0..<heads {
            for k in 0..<(headDim / 2) {
                let a = h * headDim + (neox ? k : 2 * k), b = h * headDim + (neox ? k + headDim / 2 : 2 * k + 1)
                let angle = Double(pos) * Double(invFreq[k])
                #expect(abs(Double(y[a]) - (Double(x[a]) * cos(angle) - Double(x[b]) * sin(angle))) < 1e-5)
                #expect(abs(Double(y[b]) - (Double(x[a]) * sin(angle) + Double(x[b]) * cos(angle))) < 1e-5)
            }
        }
    }

    /// The vector rotation (head_dim a multiple of 32) gives the scalar loop's bits, in both pair layouts.
    @Test(arguments: [(64, false), (64, true), (128, false), (128, true), (40, false)])
    func ropeRotationIsTheSameOnEveryISA(headDim: Int, neox: Bool) {
        var data = KernelTestData(seed: 9)
        let heads = 3, half = headDim / 2
        let x = data.activations(heads * headDim)
        let invFreq = (0..<half).map { Float(pow(10000.0, -2.0 * Double($0) / Double(headDim))) }
        var cs = [Float](repeating: 0, count: half), sn = cs
        vk_rope_angles(411, invFreq, Int64(half), &cs, &sn)
        var reference = x
        vk_set_isa(0)
        vk_rope_rotate(&reference, Int64(heads), Int64(headDim), Int64(headDim), cs, sn, neox ? 1 : 0)
        vk_set_isa(-1)
        #expect(reference != x)
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            var y = x
            vk_rope_rotate(&y, Int64(heads), Int64(headDim), Int64(headDim), cs, sn, neox ? 1 : 0)
            #expect(y == reference, "isa \(isa)")
        }
    }

    /// The first index of the largest value, on every ISA: widths with tails, the maximum repeated (the first wins,
    /// in either order of the running maxima), all negative, and an infinity.
    @Test(arguments: [1, 7, 8, 9, 33, 100, 262_149])
    func argmaxTakesTheFirstMaximum(_ n: Int) {
        var data = KernelTestData(seed: 17)
        for case_ in 0..<4 {
            var x = data.activations(n).map { case_ == 2 ? $0 - 10 : $0 }
            if n > 3, case_ == 1 { x[n - 1] = 9; x[n / 2] = 9; x[n / 3] = 9 }
            if case_ == 3 { x[n - 1] = .infinity }
            let expected = x.indices.reduce(0) { x[$1] > x[$0] ? $1 : $0 }
            for isa in availableISAs {
                vk_set_isa(isa)
                defer { vk_set_isa(-1) }
                #expect(vk_argmax(x, Int64(n)) == Int64(expected), "isa \(isa), case \(case_)")
            }
        }
    }

    /// The attention loop tiles' 8-lane exp gives libm's `expf` bits: every 127th float of all 2^32, every float of
    /// [-2, -1], the special-case thresholds and the specials, on every ISA (in slices of 2^20 inputs).
    @Test func expfLibmGivesLibmsBits() {
        var edges = [UInt32]()
        for edge: Float in [88, -88, 88.72283, -103.97208, -103.27893, 87.99999, -87.99999, .infinity, -.infinity, .nan,
                            .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 0, -0] {
            for d in -3...3 { edges.append(UInt32(bitPattern: Int32(bitPattern: edge.bitPattern) &+ Int32(d))) }
        }
        let sweep = stride(from: UInt64(0), to: 1 << 32, by: 127).map { UInt32($0) }
        let inputs = [edges, sweep, Array(Float(-1).bitPattern...Float(-2).bitPattern)].joined().map { Float(bitPattern: $0) }
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            var wrong = 0, first: Float?
            var y = [Float](repeating: 0, count: 1 << 20)
            for start in stride(from: 0, to: inputs.count, by: 1 << 20) {
                let x = inputs[start..<min(inputs.count, start + (1 << 20))]
                x.withUnsafeBufferPointer { vk_expf_libm($0.baseAddress, &y, Int64($0.count)) }
                for (i, v) in x.enumerated() where y[i].bitPattern != expf(v).bitPattern && !(y[i].isNaN && v.isNaN) {
                    wrong += 1
                    if first == nil { first = v }
                }
            }
            #expect(wrong == 0, "isa \(isa): \(wrong) differ from expf, the first at x = \(first ?? 0)")
        }
    }

    @Test func threadPoolRunsEveryTaskOnce() {
        let pool = ThreadPool(threadCount: 3)
        for round in 0..<200 {
            let count = round % 37 + 1
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
            hits.initialize(repeating: 0, count: count)
            pool.parallelFor(count) { hits[$0] += 1 }
            #expect((0..<count).allSatisfy { hits[$0] == 1 })
            hits.deallocate()
        }
    }
}
