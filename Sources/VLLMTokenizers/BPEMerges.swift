import HeapModule

/// A BPE merge table over token ids: (left, right) → (rank, merged token).
struct BPEMerges: Sendable {
    private var table: [UInt64: (rank: Int32, merged: Int32)] = [:]
    /// Merge pieces that are not vocabulary tokens get ids past the vocabulary (llama.cpp matches merges by text,
    /// so such intermediate symbols are legal, e.g. in Gemma 4's merges).
    private(set) var extraIDs = ExactMap<Int32>()
    private(set) var extraTexts: [String] = []
    private var firstExtraID: Int32 = 0

    init() {}

    init(lines: [String], vocabulary: ExactMap<Int32>, vocabularySize: Int) {
        firstExtraID = Int32(vocabularySize)
        for (rank, line) in lines.enumerated() {
            guard let (left, right) = Self.split(line) else { continue }
            add(left: id(left, vocabulary), right: id(right, vocabulary), merged: id(left + right, vocabulary), rank: Int32(rank))
        }
    }

    init(pairs: [(String, String)], vocabulary: ExactMap<Int32>, vocabularySize: Int) {
        firstExtraID = Int32(vocabularySize)
        for (rank, pair) in pairs.enumerated() {
            add(left: id(pair.0, vocabulary), right: id(pair.1, vocabulary), merged: id(pair.0 + pair.1, vocabulary), rank: Int32(rank))
        }
    }

    /// "A B" split at the first space after the first scalar. Works on scalars: a space followed by a combining
    /// mark is one Swift Character, which must not hide the separator.
    static func split(_ line: String) -> (String, String)? {
        let scalars = line.unicodeScalars
        guard !scalars.isEmpty else { return nil }
        let rest = scalars[scalars.index(after: scalars.startIndex)...]
        guard let space = rest.firstIndex(of: " ") else { return nil }
        return (String(scalars[..<space]), String(scalars[scalars.index(after: space)...]))
    }

    private mutating func id(_ text: String, _ vocabulary: ExactMap<Int32>) -> Int32 {
        if let v = vocabulary[text] { return v }
        if let v = extraIDs[text] { return v }
        let v = firstExtraID + Int32(extraTexts.count)
        extraIDs[text] = v
        extraTexts.append(text)
        return v
    }

    /// The text of an id past the vocabulary.
    func extraText(_ id: Int32) -> String? {
        let i = Int(id - firstExtraID)
        return extraTexts.indices.contains(i) ? extraTexts[i] : nil
    }

    var count: Int { table.count }

    mutating func add(left: Int32, right: Int32, merged: Int32, rank: Int32) {
        let key = Self.key(left, right)
        if table[key] == nil { table[key] = (rank, merged) }
    }

    @inline(__always) private static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    @inline(__always) func lookup(_ a: Int32, _ b: Int32) -> (rank: Int32, merged: Int32)? {
        if a < 0 || b < 0 { return nil }
        return table[Self.key(a, b)]
    }

    private struct Candidate: Comparable {
        var rank: Int32, left: Int32, leftID: Int32, rightID: Int32
        static func < (a: Candidate, b: Candidate) -> Bool { a.rank != b.rank ? a.rank < b.rank : a.left < b.left }
    }

    /// Applies merges to `symbols` (ids, -1 for unknown symbols): lowest rank first, ties to the leftmost pair.
    /// Returns the surviving symbol indices in order.
    func apply(_ ids: inout [Int32]) -> [Int] {
        let n = ids.count
        if n < 2 { return Array(0..<n) }
        var next = (0..<n).map { Int32($0 + 1) }
        var prev = (0..<n).map { Int32($0 - 1) }
        next[n - 1] = -1
        var heap = Heap<Candidate>()
        for i in 0..<(n - 1) {
            if let m = lookup(ids[i], ids[i + 1]) { heap.insert(Candidate(rank: m.rank, left: Int32(i), leftID: ids[i], rightID: ids[i + 1])) }
        }
        var dead = [Bool](repeating: false, count: n)
        while let c = heap.popMin() {
            let l = Int(c.left)
            if dead[l] || ids[l] != c.leftID { continue }
            let r = Int(next[l])
            if r < 0 || ids[r] != c.rightID { continue }
            guard let m = lookup(c.leftID, c.rightID) else { continue }
            ids[l] = m.merged
            dead[r] = true
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = Int32(l) }
            if prev[l] >= 0, let pm = lookup(ids[Int(prev[l])], ids[l]) {
                heap.insert(Candidate(rank: pm.rank, left: prev[l], leftID: ids[Int(prev[l])], rightID: ids[l]))
            }
            if next[l] >= 0, let nm = lookup(ids[l], ids[Int(next[l])]) {
                heap.insert(Candidate(rank: nm.rank, left: Int32(l), leftID: ids[l], rightID: ids[Int(next[l])]))
            }
        }
        var out: [Int] = []
        var i = 0
        while i >= 0 { out.append(i); i = Int(next[i]) }
        return out
    }
}
