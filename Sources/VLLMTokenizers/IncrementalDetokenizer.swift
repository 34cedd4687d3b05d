/// Turns a stream of token ids into text pieces for streaming: never emits a partial UTF-8 character, and the
/// concatenation of everything `append` and `finish` return equals `tokenizer.decode(allIDs)`.
public struct IncrementalDetokenizer: Sendable {
    private let tokenizer: Tokenizer
    private let skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one token and returns the text that became complete (possibly empty).
    public mutating func append(_ id: Int32) -> String {
        pending.append(contentsOf: tokenizer.bytes(of: id, skipSpecialTokens: skipSpecialTokens))
        let complete = Self.completePrefixLength(pending)
        if complete == 0 { return "" }
        let text = String(decoding: pending[0..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Flushes whatever is held back (an unfinished character becomes U+FFFD).
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// The length of the longest prefix that does not end inside a UTF-8 sequence that could still complete.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var i = n - 1, back = 0
        while i >= 0, back < 4 {
            let b = bytes[i]
            if b & 0xC0 != 0x80 {
                let need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                let have = n - i
                if b >= 0xF8 || b < 0xC0 && b >= 0x80 { return n }
                return have < need ? i : n
            }
            i -= 1
            back += 1
        }
        return n
    }
}
