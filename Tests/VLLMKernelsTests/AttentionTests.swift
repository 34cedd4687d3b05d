import CVLLMKernels
import Testing

/// Paged attention against a direct softmax in double precision over a contiguous copy of the keys.
struct AttentionTests {
    struct Setup {
        let heads = 6, kvHeads = 2, headDim = 40, blockSize = 4
        var keys: [Float] = [], values: [Float] = []
        var kCache: [UInt16] = [], vCache: [UInt16] = []
        var table: [Int32] = []
        let length: Int

        init(length: Int, seed: UInt64) {
            self.length = length
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

        func attend(q: [Float], positions: [Int32], reference: Bool) -> [Float] {
            var out = [Float](repeating: .nan, count: q.count)
            let f = reference ? vk_paged_attention_ref : vk_paged_attention
            kCache.withUnsafeBytes { kc in vCache.withUnsafeBytes { vc in
                f(q, Int64(heads * headDim), &out, Int64(heads * headDim), Int64(positions.count), positions, kc.baseAddress!, vc.baseAddress!,
                  Int32(VK_F16), table, Int64(blockSize), Int64(heads), Int64(kvHeads), Int64(headDim), 1 / Float(headDim).squareRoot(),
                  0, Int64(kvHeads))
            } }
            return out
        }

        func direct(q: [Float], position: Int, head: Int) -> [Double] {
            let kvh = head / (heads / kvHeads)
            var scores: [Double] = []
            for p in 0...position {
                var s = 0.0
                for d in 0..<headDim { s += Double(q[head * headDim + d]) * Double(keys[(p * kvHeads + kvh) * headDim + d]) }
                scores.append(s / Double(headDim).squareRoot())
            }
            let m = scores.max()!
            let e = scores.map { Foundation.exp($0 - m) }
            let total = e.reduce(0, +)
            return (0..<headDim).map { d in (0...position).reduce(0.0) { $0 + e[$1] / total * Double(values[($1 * kvHeads + kvh) * headDim + d]) } }
        }
    }

    @Test func matchesDirectSoftmaxOnEveryPath() {
        let setup = Setup(length: 75, seed: 11)
        var data = KernelTestData(seed: 12)
        let positions: [Int32] = [0, 1, 31, 32, 33, 74]
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

    @Test func aQueryDoesNotDependOnItsBatch() {
        let setup = Setup(length: 50, seed: 21)
        var data = KernelTestData(seed: 22)
        let positions: [Int32] = [49, 10, 20, 5]
        let q = data.activations(positions.count * setup.heads * setup.headDim)
        let together = setup.attend(q: q, positions: positions, reference: false)
        let width = setup.heads * setup.headDim
        for i in positions.indices {
            let alone = setup.attend(q: Array(q[(i * width)..<((i + 1) * width)]), positions: [positions[i]], reference: false)
            #expect(alone == Array(together[(i * width)..<((i + 1) * width)]))
        }
    }
}

import Foundation
