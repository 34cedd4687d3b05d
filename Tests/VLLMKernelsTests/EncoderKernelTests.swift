import CVLLMKernels
import Foundation
import Testing
import VLLMKernels

/// The encoder kernels (LayerNorm with bias, exact GELU) against their scalar references and direct formulas.
struct EncoderKernelTests {
    /// The reference against the formula written out here, in double.
    @Test func layerNormReferenceIsTheFormula() {
        var data = KernelTestData(seed: 41)
        let n = 384
        let x = data.activations(n).map { $0 * 7 + 3 }, w = data.activations(n), b = data.activations(n)
        var y = [Float](repeating: 0, count: n)
        vk_layer_norm_ref(x, w, b, &y, Int64(n), 1e-12)
        let mean = x.reduce(0.0) { $0 + Double($1) } / Double(n)
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(n)
        for i in 0..<n {
            let expected = (Double(x[i]) - mean) / variance.squareRoot() * Double(w[i]) + Double(b[i])
            #expect(abs(Double(y[i]) - expected) < 1e-5)
        }
    }

    /// The fused add and LayerNorm against the add, then the reference, at widths with tails after the 16 lanes.
    @Test(arguments: [384, 37, 1, 1024])
    func addLayerNormMatchesTheReference(_ n: Int) {
        var data = KernelTestData(seed: 42)
        let x0 = data.activations(n).map { $0 * 30 - 2 }, y = data.activations(n), yb = data.activations(n)
        let w = data.activations(n), b = data.activations(n)
        for withResidual in [false, true] {
            var x = x0
            var summed = x0
            if withResidual { for i in 0..<n { summed[i] += y[i] + yb[i] } }
            var reference = [Float](repeating: 0, count: n)
            vk_layer_norm_ref(summed, w, b, &reference, Int64(n), 1e-12)
            if withResidual { Kernels.addLayerNorm(&x, adding: y, yBias: yb, weight: w, bias: b, count: n, eps: 1e-12) }
            else { Kernels.addLayerNorm(&x, adding: nil, yBias: nil, weight: w, bias: b, count: n, eps: 1e-12) }
            for i in 0..<n where n > 1 { #expect(abs(x[i] - reference[i]) <= 2e-6 * max(1, abs(reference[i])), "i \(i)") }
            if n == 1 { #expect(x[0] == b[0]) }
        }
    }

    /// GELU on every ISA against erfc in double (1 + erf(z) = erfc(-z), exact in the negative tail): relative 2e-6 within |x| < 3; beyond, where gelu(x) for negative x
    /// is exp(-x^2/2) small and the rounding of x^2 alone moves it by some 1e-6, relative 1e-5.
    @Test func geluMatchesTheReferenceOnEveryISA() {
        var x: [Float] = (0..<2003).map { Float($0 - 1001) / 100 }  // -10.01 ... 10.01, a tail after the vectors
        x += [0, -0.0, 1e-8, -1e-8, 30, -30, 5.5e-3]
        var reference = [Float](repeating: 0, count: x.count)
        vk_gelu_erf_ref(x, &reference, Int64(x.count))
        for i in x.indices {
            let exact = 0.5 * Double(x[i]) * erfc(-Double(x[i]) / 2.0.squareRoot())
            #expect(abs(Double(reference[i]) - exact) <= 1e-7 * max(1e-30, abs(exact)) + 1e-38)
        }
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            var out = [Float](repeating: .nan, count: x.count)
            Kernels.geluErf(x, into: &out, count: x.count)
            for i in x.indices {
                let tolerance: Float = abs(x[i]) < 3 ? 2e-6 : 1e-5
                #expect(abs(out[i] - reference[i]) <= tolerance * abs(reference[i]) + 1e-30, "isa \(isa) x \(x[i]): \(out[i]) vs \(reference[i])")
            }
        }
    }

    /// Encoder attention on every ISA against its double reference (float sums of 32 products of values near 3: 2e-5,
    /// 5e-5 past 256 keys),
    /// for one head inside wider rows, at lengths
    /// with tails and over the stack scratch (1024), and a query range that starts mid-sequence.
    @Test(arguments: [1, 7, 40, 1100])
    func encoderAttentionMatchesTheReference(_ n: Int) {
        var data = KernelTestData(seed: 43)
        let stride = 96, headDim = 32, offset = 32
        let q = data.activations(n * stride).map { $0 * 3 }, k = data.activations(n * stride).map { $0 * 3 }, v = data.activations(n * stride)
        let first = n / 3
        let tolerance: Float = n > 256 ? 5e-5 : 2e-5  // float sums of the products, and of e_j v_j over n keys
        var reference = [Float](repeating: 0, count: n * stride)
        q.withUnsafeBufferPointer { q in k.withUnsafeBufferPointer { k in v.withUnsafeBufferPointer { v in
            vk_encoder_attention_ref(q.baseAddress! + offset, k.baseAddress! + offset, v.baseAddress! + offset, &reference[offset],
                                     Int64(stride), Int64(n), Int64(headDim), 0.17, Int64(first), Int64(n))
        } } }
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            var out = [Float](repeating: .nan, count: n * stride)
            q.withUnsafeBufferPointer { q in k.withUnsafeBufferPointer { k in v.withUnsafeBufferPointer { v in
                out.withUnsafeMutableBufferPointer { o in
                    Kernels.encoderAttention(query: q.baseAddress! + offset, key: k.baseAddress! + offset, value: v.baseAddress! + offset,
                                             out: o.baseAddress! + offset, stride: stride, count: n, headDim: headDim, scale: 0.17,
                                             queries: first..<n)
                }
            } } }
            for i in first..<n {
                for d in 0..<headDim {
                    let (got, want) = (out[i * stride + offset + d], reference[i * stride + offset + d])
                    #expect(abs(got - want) <= tolerance * max(1, abs(want)), "isa \(isa) query \(i) dim \(d)")
                }
                #expect(out[i * stride].isNaN && out[i * stride + offset + headDim].isNaN, "only the head's values are written")
            }
            if first > 0 { #expect(out[offset].isNaN, "queries before the range are not written") }
        }
    }
}
