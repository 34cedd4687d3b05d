/// The model's vocabulary as the grammar sees it.
public struct TokenVocabulary: Sendable {
    /// The bytes each token adds to the output (empty for special and control tokens).
    let tokenBytes: [[UInt8]]
    /// Tokens that end generation; allowed exactly where the grammar may end.
    let endOfGeneration: Set<Int32>
    /// The logits row width.
    let size: Int

    /// tokenBytes[i]: the bytes token i adds to the output text (special/control tokens: pass an empty array; they are
    /// never allowed by a grammar). size: the logits row width (>= tokenBytes.count); ids >= tokenBytes.count are never
    /// allowed.
    public init(tokenBytes: [[UInt8]], endOfGeneration: Set<Int32>, size: Int) {
        self.tokenBytes = tokenBytes
        self.endOfGeneration = endOfGeneration.filter { $0 >= 0 && Int($0) < max(size, tokenBytes.count) }
        self.size = max(size, tokenBytes.count)
    }

    /// Words in a token bitmask: one bit per id of the logits row.
    var maskWords: Int { (size + 31) / 32 }
}

/// The vocabulary's tokens sorted by their bytes, which makes a byte trie implicit: consecutive tokens share a prefix
/// of `commonPrefix[k]` bytes, so a scan over the sorted list advances the parser only past the shared prefix. Built
/// once per compiler and shared by all its grammars.
final class VocabularyTrie: Sendable {
    /// Non-empty tokens' ids in byte order; `position[id]` is the inverse (-1 for an empty token).
    let sortedIDs: [Int32]
    let position: [Int32]
    /// commonPrefix[k]: bytes shared by sorted tokens k-1 and k (0 for k = 0).
    let commonPrefix: [Int32]
    /// All tokens' bytes back to back: token id i is bytes[offset[i]..<offset[i+1]].
    let bytes: [UInt8]
    let offset: [Int32]
    let longestToken: Int

    init(_ vocabulary: TokenVocabulary) {
        var flat: [UInt8] = [], offset: [Int32] = [0]
        flat.reserveCapacity(vocabulary.tokenBytes.reduce(0) { $0 + $1.count })
        for t in vocabulary.tokenBytes {
            flat.append(contentsOf: t)
            offset.append(Int32(flat.count))
        }
        let ids = vocabulary.tokenBytes.indices.filter { !vocabulary.tokenBytes[$0].isEmpty }
        let sorted = ids.sorted { a, b in
            let x = vocabulary.tokenBytes[a], y = vocabulary.tokenBytes[b]
            return x.lexicographicallyPrecedes(y) || (x == y && a < b)
        }
        var position = [Int32](repeating: -1, count: vocabulary.tokenBytes.count)
        var common = [Int32](repeating: 0, count: sorted.count)
        for (k, id) in sorted.enumerated() {
            position[id] = Int32(k)
            guard k > 0 else { continue }
            let a = vocabulary.tokenBytes[sorted[k - 1]], b = vocabulary.tokenBytes[id]
            var n = 0
            while n < a.count && n < b.count && a[n] == b[n] { n += 1 }
            common[k] = Int32(n)
        }
        sortedIDs = sorted.map(Int32.init)
        self.position = position
        commonPrefix = common
        bytes = flat
        self.offset = offset
        longestToken = vocabulary.tokenBytes.map(\.count).max() ?? 0
    }

    /// The bytes of token `id`.
    func tokenBytes(_ id: Int32) -> ArraySlice<UInt8> { bytes[Int(offset[Int(id)])..<Int(offset[Int(id) + 1])] }
}
