import CVLLMKernels
import Testing

/// Paged attention against a direct softmax in double precision over a contiguous copy of the keys.
struct AttentionTests {
    struct Setup {
        let heads: Int, kvHeads: Int, blockSize: Int
        let headDim: Int
        var keys: [Float] = [], values: [Float] = []
        var kCache: [UInt16] = [], vCache: [UInt16] = []
        var table: [Int32] = []
        let length: Int

        init(length: Int, seed: UInt64, headDim: Int, heads: Int = 6, kvHeads: Int = 2, blockSize: Int = 4) {
            self.length = length
            self.blockSize = blockSize
            self.headDim = headDim
            self.heads = heads
            self.kvHeads = kvHeads
            var data = KernelTestData(seed: seed)
            let blocks = (length + blockSize - 1) / blockSize
            // A scrambled block table: logical block i lives in physical block table[i].
            table = (0..<Int32(blocks)).map { ($0 * 7 + 3) % Int32(blocks) }
            let rowElems = kvHeads * headDim
            kCache = [UInt16](repeating: 0, count: blocks * blockSize * rowElems)
            vCache = kCache
            for p in 0..<length {
                let k = data.activations(rowElems), v = data.activations(rowElems)
                // The reference sees what the f16 cache stores.
                keys += k.map { Float(Float16($0)) }
                values += v.map { Float(Float16($0)) }
                let slot = Int64(table[p / blockSize]) * Int64(blockSize) + Int64(p % blockSize)
                kCache.withUnsafeMutableBytes { kc in vCache.withUnsafeMutableBytes { vc in
                    vk_kv_write(kc.baseAddress!, vc.baseAddress!, Int32(VK_F16), slot, Int64(rowElems), k, v)
                } }
            }
        }

        /// Overwrites the K and V rows of positions `range` with NaN: a kernel that reads them poisons its output.
        mutating func poison(_ range: Range<Int>) {
            let rowElems = kvHeads * headDim, nan = Float16.nan.bitPattern
            for p in range {
                let slot = Int(table[p / blockSize]) * blockSize + p % blockSize
                for i in 0..<rowElems { kCache[slot * rowElems + i] = nan; vCache[slot * rowElems + i] = nan }
            }
        }

        /// `untiled`: the per-query loop at the pinned ISA (vk_paged_attention_loop).
        func attend(q: [Float], positions: [Int32], reference: Bool, window: Int = 0, untiled: Bool = false) -> [Float] {
            var out = [Float](repeating: .nan, count: q.count)
            let f = reference ? vk_paged_attention_ref : untiled ? vk_paged_attention_loop : vk_paged_attention
            kCache.withUnsafeBytes { kc in vCache.withUnsafeBytes { vc in
                f(q, Int64(heads * headDim), &out, Int64(heads * headDim), Int64(positions.count), positions, kc.baseAddress!, vc.baseAddress!,
                  Int32(VK_F16), table, Int64(blockSize), Int64(heads), Int64(kvHeads), Int64(headDim), 1 / Float(headDim).squareRoot(),
                  0, Int64(kvHeads), Int64(window))
            } }
            return out
        }

        /// The attention of one query head over keys `max(0, position - window + 1)...position` (all when window is 0).
        func direct(q: [Float], position: Int, head: Int, window: Int = 0) -> [Double] {
            let kvh = head / (heads / kvHeads)
            let visible = (window > 0 ? max(0, position - window + 1) : 0)...position
            var scores: [Double] = []
            for p in visible {
                var s = 0.0
                for d in 0..<headDim { s += Double(q[head * headDim + d]) * Double(keys[(p * kvHeads + kvh) * headDim + d]) }
                scores.append(s / Double(headDim).squareRoot())
            }
            let m = scores.max()!
            let e = scores.map { Foundation.exp($0 - m) }
            let total = e.reduce(0, +)
            return (0..<headDim).map { d in
                visible.enumerated().reduce(0.0) { $0 + e[$1.offset] / total * Double(values[($1.element * kvHeads + kvh) * headDim + d]) }
            }
        }
    }

    /// Shapes as (head_dim, heads, KV heads): 40 takes the generic loops; 64, 128 and 256 the AVX-512 16-key or AVX2
    /// 8-key tiles, with 1 to 4 query heads per KV head (group * head_dim <= 256 has the multi-query block body), and
    /// 6, 7 or 16 (Qwen2.5-Coder 0.5B is (64, 14, 2), 1.5B (128, 12, 2)), which AVX2 runs in its 32-key loop tiles;
    /// (256, 4, 1) is Gemma 3 270M's. On AVX-512 a group of head_dim 64 or 128 whose outputs exceed 16 vectors runs
    /// the wide and multi-query bodies in passes of heads: (128, 8, 2) is Llama 3 8B's group of 4, 10 heads of 128 a
    /// KV head decode as 8 + 2; heads of 256 (10 a KV head here) run the one-query body one at a time.
    static let shapes = [(40, 6, 2), (64, 6, 2), (128, 6, 2), (64, 4, 1), (64, 2, 2), (128, 4, 2), (128, 2, 2), (256, 4, 1), (256, 2, 2),
                         (64, 14, 2), (128, 12, 2), (64, 16, 1), (128, 8, 2), (128, 20, 2), (256, 10, 1)]

    @Test(arguments: shapes)
    func matchesDirectSoftmaxOnEveryPath(headDim: Int, heads: Int, kvHeads: Int) {
        let setup = Setup(length: 75, seed: 11, headDim: headDim, heads: heads, kvHeads: kvHeads)
        var data = KernelTestData(seed: 12)
        let positions: [Int32] = [0, 1, 15, 16, 31, 32, 33, 74]
        let q = data.activations(positions.count * setup.heads * setup.headDim)
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            let out = setup.attend(q: q, positions: positions, reference: false)
            for (i, p) in positions.enumerated() {
                let qi = Array(q[(i * setup.heads * setup.headDim)..<((i + 1) * setup.heads * setup.headDim)])
                for h in 0..<setup.heads {
                    let expected = setup.direct(q: qi, position: Int(p), head: h)
                    for d in 0..<setup.headDim {
                        let got = out[(i * setup.heads + h) * setup.headDim + d]
                        #expect(abs(Double(got) - expected[d]) < 1e-4, "isa \(isa) pos \(p) head \(h) dim \(d)")
                    }
                }
            }
        }
    }

    /// Blocks of 16 and 32 positions hold whole 16-key tiles (the AVX-512 kernels then look a tile's rows up once),
    /// blocks of 8 split them; every block size gives the direct softmax, on every path.
    @Test(arguments: [8, 16, 32])
    func blockSizesThatHoldWholeTiles(blockSize: Int) {
        let setup = Setup(length: 75, seed: 13, headDim: 64, heads: 6, kvHeads: 2, blockSize: blockSize)
        var data = KernelTestData(seed: 14)
        let positions: [Int32] = [0, 15, 16, 31, 47, 48, 74]
        let q = data.activations(positions.count * setup.heads * setup.headDim)
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            for batch in [positions.indices.map { [$0] }, [Array(positions.indices)]] {  // one query a call, then all together
                for group in batch {
                    let width = setup.heads * setup.headDim
                    let qs = group.flatMap { q[($0 * width)..<(($0 + 1) * width)] }
                    let out = setup.attend(q: Array(qs), positions: group.map { positions[$0] }, reference: false)
                    for (k, i) in group.enumerated() {
                        for h in 0..<setup.heads {
                            let expected = setup.direct(q: Array(q[(i * width)..<((i + 1) * width)]), position: Int(positions[i]), head: h)
                            for d in 0..<setup.headDim {
                                #expect(abs(Double(out[(k * setup.heads + h) * setup.headDim + d]) - expected[d]) < 1e-4,
                                        "isa \(isa) block \(blockSize) pos \(positions[i]) head \(h)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Groups too wide for the register-resident bodies give the per-query loop's bits (a model's logits are the same
    /// either way): on AVX2 the loop tiles (more than 4 query heads a KV head) against the generic loop, on AVX-512 the
    /// wide and multi-query bodies in passes (group * head_dim > 256) against the 16-key tiles one query at a time
    /// (head_dim 64 and 128; 256 keeps the one-query body's order, which aQueryDoesNotDependOnItsBatch checks). Many
    /// queries a call and one, with a sliding window and without, keys over several tiles.
    @Test(arguments: [(64, 14, 2), (128, 12, 2), (64, 16, 1), (256, 10, 2), (128, 8, 2), (128, 20, 2)])
    func wideGroupsGiveThePerQueryLoopsBits(headDim: Int, heads: Int, kvHeads: Int) {
        let setup = Setup(length: 75, seed: 41, headDim: headDim, heads: heads, kvHeads: kvHeads)
        var data = KernelTestData(seed: 42)
        let positions: [Int32] = [74, 0, 31, 32, 33, 63, 64, 5] + (0..<12).map { Int32($0 * 6 + 1) }
        let width = heads * headDim
        let q = data.activations(positions.count * width)
        for isa in availableISAs where (isa == Int32(VK_ISA_AVX2) && heads > 4 * kvHeads) || (isa >= Int32(VK_ISA_AVX512) && headDim < 256) {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            for window in [0, 20] {
                let tiled = setup.attend(q: q, positions: positions, reference: false, window: window)
                let loop = setup.attend(q: q, positions: positions, reference: false, window: window, untiled: true)
                #expect(zip(tiled, loop).filter { $0.bitPattern != $1.bitPattern }.count == 0, "isa \(isa), window \(window)")
                for i in [0, 3, 7] {
                    let alone = setup.attend(q: Array(q[(i * width)..<((i + 1) * width)]), positions: [positions[i]], reference: false, window: window)
                    #expect(zip(alone, loop[(i * width)...]).filter { $0.bitPattern != $1.bitPattern }.count == 0,
                            "isa \(isa), window \(window), query \(i)")
                }
            }
        }
    }

    @Test(arguments: shapes)
    func aQueryDoesNotDependOnItsBatch(headDim: Int, heads: Int, kvHeads: Int) {
        let setup = Setup(length: 50, seed: 21, headDim: headDim, heads: heads, kvHeads: kvHeads)
        var data = KernelTestData(seed: 22)
        // 20 queries: more than the 16 that share a tile, in no particular order.
        let positions: [Int32] = [49, 10, 20, 5] + (0..<16).map { Int32($0 * 3) }
        let q = data.activations(positions.count * setup.heads * setup.headDim)
        let width = setup.heads * setup.headDim
        for isa in availableISAs {
            vk_set_isa(isa)
            defer { vk_set_isa(-1) }
            let together = setup.attend(q: q, positions: positions, reference: false)
            for i in positions.indices {
                let alone = setup.attend(q: Array(q[(i * width)..<((i + 1) * width)]), positions: [positions[i]], reference: false)
                #expect(alone == Array(together[(i * width)..<((i + 1) * width)]), "isa \(isa) query \(i)")
            }
        }
    }
}

import Foundation

/// The f16 KV cache stores exactly Swift's Float16 rounding of each value, on the vector and scalar paths.
@Test func kvWriteStoresFloat16Rounding() {
    var data = KernelTestData(seed: 31)
    let n = 200
    var values = data.activations(n).enumerated().map { i, x in x * [1, 1e-5, 6e4, 1e-8][i % 4] }
    values[3] = 65519; values[7] = -65520  // the largest finite half, and the first value that rounds to infinity
    for isa in availableISAs {
        vk_set_isa(isa)
        defer { vk_set_isa(-1) }
        var k = [UInt16](repeating: 0, count: 2 * n), v = k
        vk_kv_write(&k, &v, Int32(VK_F16), 1, Int64(n), values, values.map { -$0 })
        #expect(Array(k[n...]) == values.map { Float16($0).bitPattern }, "isa \(isa)")
        #expect(Array(v[n...]) == values.map { Float16(-$0).bitPattern }, "isa \(isa)")
    }
}
