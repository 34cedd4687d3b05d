import CVLLMKernels
import Testing

/// Sliding-window paged attention (Gemma 3's local layers): a query at p sees keys max(0, p - window + 1) ... p,
/// llama.cpp's rule (masked when p - key >= window). Checked against the direct softmax over that window on every
/// instruction set, with the K/V rows before the window poisoned with NaN (so a kernel that reads them fails), and
/// for batch invariance: a query's bits do not depend on the other queries of its call.
struct WindowAttentionTests {
    /// (head_dim, heads, KV heads): the generic loops (40), the AVX-512 one-query and multi-query bodies and the AVX2
    /// tiles (64, 128), and Gemma 3 270M's shape (256, 4 heads on 1 KV head), which takes the per-query tile loop.
    static let shapes = [(40, 6, 2), (64, 6, 2), (128, 4, 2), (64, 4, 1), (256, 4, 1)]

    @Test(arguments: shapes)
    func matchesTheDirectSoftmaxOverTheWindow(headDim: Int, heads: Int, kvHeads: Int) {
        // Windows shorter than a tile, spanning tiles, equal to the sequence, and longer than it.
        for (window, blockSize) in [(5, 4), (16, 16), (21, 8), (40, 16), (75, 4), (512, 16)] {
            var setup = AttentionTests.Setup(length: 75, seed: 41, headDim: headDim, heads: heads, kvHeads: kvHeads, blockSize: blockSize)
            let positions: [Int32] = window > 40 ? [74, 60, 33, 20, 16, 15, 4, 0] : [74, 73, 60, 47, 40, 39, 33]
            // What no query of the batch can see is poisoned.
            let firstVisible = max(0, Int(positions.min()!) - window + 1)
            setup.poison(0..<firstVisible)
            var data = KernelTestData(seed: 42)
            let q = data.activations(positions.count * heads * headDim)
            let width = heads * headDim
            for isa in availableISAs {
                vk_set_isa(isa)
                defer { vk_set_isa(-1) }
                let together = setup.attend(q: q, positions: positions, reference: false, window: window)
                for (i, p) in positions.enumerated() {
                    let qi = Array(q[(i * width)..<((i + 1) * width)])
                    for h in 0..<heads {
                        let expected = setup.direct(q: qi, position: Int(p), head: h, window: window)
                        for d in 0..<headDim {
                            let got = together[i * width + h * headDim + d]
                            #expect(abs(Double(got) - expected[d]) < 1e-4, "isa \(isa) window \(window) pos \(p) head \(h) dim \(d)")
                        }
                    }
                }
            }
        }
    }

    /// A query alone (decode) and the same query among others (prefill) give the same bits on every instruction
    /// set, rows before its own window poisoned; the scalar reference gives the dispatcher's scalar result.
    @Test(arguments: shapes)
    func aQueryDoesNotDependOnItsBatch(headDim: Int, heads: Int, kvHeads: Int) {
        let window = 13
        var setup = AttentionTests.Setup(length: 60, seed: 43, headDim: headDim, heads: heads, kvHeads: kvHeads, blockSize: 8)
        let positions: [Int32] = [59, 30, 45, 12] + (0..<16).map { Int32(20 + $0 * 2) }
        setup.poison(0..<(Int(positions.min()!) - window + 1))
        var data = KernelTestData(seed: 44)
        let q = data.activations(positions.count * heads * headDim)
        let width = heads * headDim
        let reference = setup.attend(q: q, positions: positions, reference: true, window: window)
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            let together = setup.attend(q: q, positions: positions, reference: false, window: window)
            if isa == 0 { #expect(together == reference) }
            for i in positions.indices {
                let alone = setup.attend(q: Array(q[(i * width)..<((i + 1) * width)]), positions: [positions[i]], reference: false, window: window)
                #expect(alone == Array(together[(i * width)..<((i + 1) * width)]), "isa \(isa) query \(i)")
                #expect(!alone.contains { $0.isNaN }, "isa \(isa) query \(i) read a row outside its window")
            }
        }
    }

    /// A window at least as long as the context changes nothing: the same bits as full causal attention.
    @Test func aLongWindowIsFullAttention() {
        let setup = AttentionTests.Setup(length: 40, seed: 45, headDim: 64, heads: 6, kvHeads: 2, blockSize: 16)
        var data = KernelTestData(seed: 46)
        let positions: [Int32] = [39, 17, 3, 0]
        let q = data.activations(positions.count * 6 * 64)
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            #expect(setup.attend(q: q, positions: positions, reference: false, window: 40)
                    == setup.attend(q: q, positions: positions, reference: false), "isa \(isa)")
        }
    }
}
