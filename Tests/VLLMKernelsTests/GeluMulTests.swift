import CVLLMKernels
import Foundation
import Testing

/// GeGLU with ggml's numerics: the GELU table over f16 values, the ±10 cut-offs, and the same bits on every ISA.
struct GeluMulTests {
    /// ggml's formula, written out: gelu(f16(g)) in f32 with tanhf, rounded to f16, times up.
    static func expected(_ g: Float, _ u: Float) -> Float {
        if g <= -10 { return 0 }
        if g >= 10 { return g * u }
        let x = Float(Float16(g))
        let gelu = 0.5 * x * (1 + tanhf(0.79788456080286535587989211986876 * x * (1 + 0.044715 * x * x)))
        return Float(Float16(gelu)) * u
    }

    @Test(arguments: [1, 7, 16, 100, 2048 + 5])
    func matchesGGMLsTableOnEveryISA(_ n: Int) {
        var data = KernelTestData(seed: 47)
        // Values across the table's range and past both cut-offs.
        let g = data.activations(n).enumerated().map { i, x in x * [1, 4, 12, 0.01][i % 4] }
        let u = data.activations(n)
        var reference = [Float](repeating: .nan, count: n)
        vk_gelu_mul_ref(g, u, &reference, Int64(n))
        #expect(reference == zip(g, u).map { Self.expected($0, $1) })
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            var out = [Float](repeating: .nan, count: n)
            vk_gelu_mul(g, u, &out, Int64(n))
            #expect(out == reference, "isa \(isa)")
        }
    }

    /// The edges: exactly -10 and 10, just inside them, zero and the largest f16-rounded values.
    @Test func cutOffs() {
        let g: [Float] = [-10, -9.999, 10, 9.999, 0, -0.0, 65504, -65504, 3.5, -3.5, 1e-8, -1e-8, 0.5, 2, -2, 7]
        let u = [Float](repeating: 1.5, count: g.count)
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            var out = [Float](repeating: .nan, count: g.count)
            vk_gelu_mul(g, u, &out, Int64(g.count))
            #expect(out == zip(g, u).map { Self.expected($0, $1) }, "isa \(isa)")
        }
    }
}
