/// The ordered candidates of top-k and top-p sampling, found without sorting the whole vocabulary, and the draw.
///
/// The order is the sampler's: weight descending, then token id ascending. A full sort of a 152,000- or
/// 262,000-token row cost 11-12 ms a token (`vllm generate` on Qwen2.5-Coder-0.5B with `--top-p 0.8` or
/// `--top-k 20`: 4.8-4.9 s for 128 tokens against 3.4 s at temperature 1 alone), as long as the model's own step.
extension Sampler {
    /// Whether token a comes before token b: the larger weight, then the smaller id.
    @inline(__always)
    static func precedes(_ a: Int32, _ b: Int32, _ w: UnsafeMutablePointer<Float>) -> Bool {
        w[Int(a)] > w[Int(b)] || (w[Int(a)] == w[Int(b)] && a < b)
    }

    /// The `k` first candidates (positive weights) in the sampler's order (all of them when there are fewer), and
    /// how many candidates there are: one pass with a heap of k whose root is the last kept, then a sort of k.
    static func topK(_ w: UnsafeMutablePointer<Float>, count n: Int, k: Int) -> (ids: [Int32], candidates: Int) {
        var heap = [Int32]()
        heap.reserveCapacity(k)
        var rootWeight = -Float.infinity, candidates = 0
        for i in 0..<n {
            let wi = w[i]
            guard wi > 0 else { continue }
            candidates += 1
            if heap.count < k {
                heap.append(Int32(i))
                siftUp(&heap, w)
                rootWeight = w[Int(heap[0])]
            } else if wi > rootWeight {  // a later id with the root's weight comes after it
                heap[0] = Int32(i)
                siftDown(&heap, w)
                rootWeight = w[Int(heap[0])]
            }
        }
        return (heap.sorted { precedes($0, $1, w) }, candidates)
    }

    /// The shortest prefix, in the sampler's order, of the candidates (positive weights) whose weights sum (in that
    /// order) to `topP * total`, or all of them when rounding leaves the sum short. Only the weights above a
    /// threshold are sorted; the threshold falls by 2^-10 until the prefix lies above it (every weight above it comes
    /// before every weight below it, so the prefix is the same as a full sort's).
    static func nucleus(_ w: UnsafeMutablePointer<Float>, count n: Int, topP: Double, total: Double) -> [Int32] {
        var threshold: Float = 0x1p-10
        while true {
            var ids = [Int32]()
            for i in 0..<n where w[i] > 0 && w[i] >= threshold { ids.append(Int32(i)) }
            ids.sort { precedes($0, $1, w) }
            if let kept = nucleusLength(ids, w, topP: topP, total: total) { return Array(ids[..<kept]) }
            if threshold == 0 { return ids }
            threshold = threshold > 0x1p-60 ? threshold * 0x1p-10 : 0
        }
    }

    /// How many of the ordered `ids` top-p keeps: the shortest prefix whose weights sum, in order, to `topP * total`;
    /// nil when all of them fall short.
    static func nucleusLength(_ ids: [Int32], _ w: UnsafeMutablePointer<Float>, topP: Double, total: Double) -> Int? {
        var cumulative = 0.0
        for (index, id) in ids.enumerated() {
            cumulative += Double(w[Int(id)])
            if cumulative >= topP * total { return index + 1 }
        }
        return nil
    }

    /// The draw in index order: the first id at which `target` minus the running sum of weights falls below 0
    /// (the last positive weight's id when rounding leaves it at 0 or above). Chunks of 1024 weights whose sum the
    /// target passes are subtracted whole (their sum in 8 lanes); the chunk that holds the draw is walked weight by
    /// weight, instead of the whole row one dependent double subtraction a weight (with argmax's vectorized first
    /// index: Gemma 3's sampling phase 0.405 -> 0.237 ms a decode step at a vocabulary of 262,144).
    static func draw(_ w: UnsafeMutablePointer<Float>, count n: Int, target: Double) -> Int32 {
        var target = target, start = 0
        while start < n {
            let end = min(n, start + 1024)
            let sum = chunkSum(w, start, end)
            if target - sum >= 0 {
                target -= sum
            } else {
                for i in start..<end where w[i] > 0 {
                    target -= Double(w[i])
                    if target < 0 { return Int32(i) }
                }
            }
            start = end
        }
        var last = n - 1
        while last > 0, !(w[last] > 0) { last -= 1 }
        return Int32(last)
    }

    /// Σ w[a..<b] in double, in 8 interleaved partial sums.
    @inline(__always)
    private static func chunkSum(_ w: UnsafeMutablePointer<Float>, _ a: Int, _ b: Int) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0
        var i = a
        while i + 8 <= b {
            s0 += Double(w[i]); s1 += Double(w[i + 1]); s2 += Double(w[i + 2]); s3 += Double(w[i + 3])
            s4 += Double(w[i + 4]); s5 += Double(w[i + 5]); s6 += Double(w[i + 6]); s7 += Double(w[i + 7])
            i += 8
        }
        while i < b { s0 += Double(w[i]); i += 1 }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    }

    private static func siftUp(_ heap: inout [Int32], _ w: UnsafeMutablePointer<Float>) {
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(heap[parent], heap[child], w) else { return }  // the root is the last in order
            heap.swapAt(parent, child)
            child = parent
        }
    }

    private static func siftDown(_ heap: inout [Int32], _ w: UnsafeMutablePointer<Float>) {
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var last = parent
            if left < heap.count, precedes(heap[last], heap[left], w) { last = left }
            if right < heap.count, precedes(heap[last], heap[right], w) { last = right }
            if last == parent { return }
            heap.swapAt(parent, last)
            parent = last
        }
    }
}
