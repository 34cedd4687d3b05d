extension Tokenizer {
    /// The raw bytes of `ids`, skipping control tokens when `skipSpecialTokens`.
    func bytes(of ids: [Int32], skipSpecialTokens: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids {
            guard tokenBytes.indices.contains(Int(id)) else { continue }
            if skipSpecialTokens && isSpecial(id) { continue }
            out.append(contentsOf: tokenBytes[Int(id)])
        }
        return out
    }

    /// The bytes one token contributes (empty for an unknown id or a skipped special token).
    func bytes(of id: Int32, skipSpecialTokens: Bool) -> [UInt8] {
        guard tokenBytes.indices.contains(Int(id)) else { return [] }
        if skipSpecialTokens && isSpecial(id) { return [] }
        return tokenBytes[Int(id)]
    }

    /// The text of `ids`; invalid UTF-8 becomes U+FFFD. Control tokens are dropped when `skipSpecialTokens`.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = true) -> String {
        String(decoding: bytes(of: ids, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
    }
}
