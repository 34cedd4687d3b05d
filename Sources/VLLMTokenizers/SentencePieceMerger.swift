import HeapModule

/// SentencePiece-style BPE as llama.cpp's SPM tokenizer runs it: adjacent symbols whose concatenation is a
/// vocabulary token merge, highest score first, ties to the leftmost pair.
struct SentencePieceMerger: Sendable {
    let vocabulary: ExactMap<Int32>
    let scores: [Float]

    private struct Candidate: Comparable {
        var score: Float, left: Int32, size: Int
        static func < (a: Candidate, b: Candidate) -> Bool { a.score != b.score ? a.score > b.score : a.left < b.left }
    }

    /// Merges the characters of `text` and returns the final symbols (strings, in order).
    func segment(_ text: String) -> [String] {
        var symbols = text.unicodeScalars.map { String($0) }
        let n = symbols.count
        if n < 2 { return symbols }
        var next = (0..<n).map { Int32($0 + 1) }
        var prev = (0..<n).map { Int32($0 - 1) }
        next[n - 1] = -1
        var dead = [Bool](repeating: false, count: n)
        var heap = Heap<Candidate>()
        func push(_ l: Int, _ r: Int) {
            let merged = symbols[l] + symbols[r]
            if let id = vocabulary[merged] {
                heap.insert(Candidate(score: scores.indices.contains(Int(id)) ? scores[Int(id)] : 0, left: Int32(l),
                                      size: merged.utf8.count))
            }
        }
        for i in 0..<(n - 1) { push(i, i + 1) }
        while let c = heap.popMin() {
            let l = Int(c.left)
            if dead[l] { continue }
            let r = Int(next[l])
            if r < 0 || symbols[l].utf8.count + symbols[r].utf8.count != c.size { continue }
            symbols[l] += symbols[r]
            dead[r] = true
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = Int32(l) }
            if prev[l] >= 0 { push(Int(prev[l]), l) }
            if next[l] >= 0 { push(l, Int(next[l])) }
        }
        var out: [String] = []
        var i = 0
        while i >= 0 { out.append(symbols[i]); i = Int(next[i]) }
        return out
    }
}
