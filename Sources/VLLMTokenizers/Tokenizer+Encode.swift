import Foundation

extension Tokenizer {
    /// Token ids for `text`.
    /// - Parameters:
    ///   - addSpecialTokens: add BOS / EOS as the model says (Hugging Face `add_special_tokens`).
    ///   - parseSpecial: turn the text of control tokens (e.g. `<|im_start|>`) into those tokens; user-defined
    ///     added tokens are always recognised (llama.cpp's `parse_special`).
    public func encode(_ text: String, addSpecialTokens: Bool = false, parseSpecial: Bool = false) -> [Int32] {
        var out: [Int32] = []
        if addSpecialTokens, addBOS, let bos = bosTokenID { out.append(bos) }
        var previousWasSpecial = true
        for fragment in partition(text, parseSpecial: parseSpecial) {
            switch fragment {
            case let .special(id):
                out.append(id)
                previousWasSpecial = true
            case let .text(raw):
                encodeRaw(raw, atStart: previousWasSpecial, into: &out)
                previousWasSpecial = false
            }
        }
        if addSpecialTokens, addEOS, let eos = eosTokenID { out.append(eos) }
        return out
    }

    enum Fragment { case special(Int32), text(Substring) }

    /// Cuts the text around special tokens (longest first), honouring their lstrip / rstrip flags.
    func partition(_ text: String, parseSpecial: Bool) -> [Fragment] {
        let candidates = specials.filter { parseSpecial || $0.kind == .userDefined }
        if candidates.isEmpty || text.isEmpty { return [.text(Substring(text))] }
        var fragments: [Fragment] = []
        let utf8 = Array(text.utf8)
        var start = 0, i = 0
        while i < utf8.count {
            var matched: SpecialToken? = nil
            for special in candidates {
                let bytes = special.text.utf8
                if bytes.count <= utf8.count - i, utf8[i] == bytes.first, utf8[i..<(i + bytes.count)].elementsEqual(bytes) {
                    if special.singleWord && (Self.isWordByte(utf8, before: i) || Self.isWordByte(utf8, at: i + bytes.count)) { continue }
                    matched = special
                    break
                }
            }
            guard let special = matched else { i += 1; continue }
            var gapEnd = i
            if special.lstrip { while gapEnd > start, Self.isSpace(utf8[gapEnd - 1]) { gapEnd -= 1 } }
            if gapEnd > start { fragments.append(.text(Self.substring(utf8, start, gapEnd))) }
            fragments.append(.special(special.id))
            i += special.text.utf8.count
            if special.rstrip { while i < utf8.count, Self.isSpace(utf8[i]) { i += 1 } }
            start = i
        }
        if start < utf8.count { fragments.append(.text(Self.substring(utf8, start, utf8.count))) }
        return fragments
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 32 || (b >= 9 && b <= 13) }

    /// Whether the character ending just before `index` / starting at `index` is a word character.
    private static func isWordByte(_ bytes: [UInt8], before index: Int) -> Bool {
        var start = index - 1
        while start > 0, bytes[start] & 0xC0 == 0x80 { start -= 1 }
        return start >= 0 && isWordCharacter(bytes, start, index)
    }

    private static func isWordByte(_ bytes: [UInt8], at index: Int) -> Bool {
        guard index < bytes.count else { return false }
        var end = index + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return isWordCharacter(bytes, index, end)
    }

    private static func isWordCharacter(_ bytes: [UInt8], _ a: Int, _ b: Int) -> Bool {
        guard let c = String(decoding: bytes[a..<b], as: UTF8.self).first else { return false }
        return c.isLetter || c.isNumber || c == "_"
    }

    private static func substring(_ bytes: [UInt8], _ a: Int, _ b: Int) -> Substring {
        Substring(String(decoding: bytes[a..<b], as: UTF8.self))
    }

    private func encodeRaw(_ original: Substring, atStart: Bool, into out: inout [Int32]) {
        if original.isEmpty { return }
        var raw = original
        if let form = unicodeForm {
            let text = String(original)
            switch form {
            case .nfc: raw = Substring(text.precomposedStringWithCanonicalMapping)
            case .nfkc: raw = Substring(text.precomposedStringWithCompatibilityMapping)
            case .nfd: raw = Substring(text.decomposedStringWithCanonicalMapping)
            case .nfkd: raw = Substring(text.decomposedStringWithCompatibilityMapping)
            }
        }
        if lowercaseInput { raw = Substring(raw.lowercased()) }
        switch algorithm {
        case .byteLevelBPE:
            var scalars = raw.unicodeScalars.map(\.value)
            if addSpacePrefix, atStart, scalars.first != 32 { scalars.insert(32, at: 0) }
            scalars.withUnsafeBufferPointer { buffer in
                var pieces: [Range<Int>] = [0..<buffer.count]
                for splitter in splitters {
                    var nextPieces: [Range<Int>] = []
                    nextPieces.reserveCapacity(pieces.count * 2)
                    for piece in pieces { splitter.split(buffer, lower: piece.lowerBound, upper: piece.upperBound, into: &nextPieces) }
                    pieces = nextPieces
                }
                for piece in pieces {
                    var bytes: [UInt8] = []
                    bytes.reserveCapacity(piece.count)
                    for v in buffer[piece] { Self.appendUTF8(v, to: &bytes) }
                    encodeWord(ByteLevel.encode(bytes), into: &out)
                }
            }
        case .sentencePiece:
            var text = atStart && addSpacePrefix ? " " + raw : String(raw)
            text = String(text.map { $0 == " " ? "\u{2581}" : $0 })
            for symbol in SentencePieceMerger(vocabulary: vocabulary, scores: scores).segment(text) { emit(symbol, into: &out) }
        case .metaspaceBPE:
            var text = atStart && addSpacePrefix ? " " + raw : String(raw)
            text = String(text.map { $0 == " " ? "\u{2581}" : $0 })
            if splitters.isEmpty { encodeWord(text, into: &out); return }
            let scalars = text.unicodeScalars.map(\.value)
            scalars.withUnsafeBufferPointer { buffer in
                var pieces: [Range<Int>] = [0..<buffer.count]
                for splitter in splitters {
                    var nextPieces: [Range<Int>] = []
                    for piece in pieces { splitter.split(buffer, lower: piece.lowerBound, upper: piece.upperBound, into: &nextPieces) }
                    pieces = nextPieces
                }
                for piece in pieces {
                    var view = String.UnicodeScalarView()
                    for v in buffer[piece] { view.append(Unicode.Scalar(v)!) }
                    let word = String(view)
                    // A run of newlines that is itself a token stays whole (llama.cpp's Gemma 4 rule).
                    if word.unicodeScalars.allSatisfy({ $0 == "\n" }), let id = vocabulary[word] { out.append(id); continue }
                    encodeWord(word, into: &out)
                }
            }
        case let .wordPiece(lowercase, stripAccents):
            encodeWordPiece(raw, lowercase: lowercase, stripAccents: stripAccents, into: &out)
        case let .huggingFaceWordPiece(lowercase, stripAccents, maxCharacters):
            for word in Self.bertWords(raw, lowercase: lowercase, stripAccents: stripAccents, nonspacingOnly: true) {
                encodeHuggingFaceWordPiece(word, maxCharacters: maxCharacters, into: &out)
            }
        }
    }

    /// BPE over one pre-tokenized word (already byte-level or metaspace encoded).
    private func encodeWord(_ word: String, into out: inout [Int32]) {
        if let cached = wordCache.get(word) { out.append(contentsOf: cached); return }
        var result: [Int32] = []
        if ignoreMerges, let id = vocabulary[word] {
            result = [id]
        } else {
            let scalars = Array(word.unicodeScalars)
            var ids = scalars.map { vocabulary[String($0)] ?? merges.extraIDs[String($0)] ?? -1 }
            let kept = merges.apply(&ids)
            for index in kept {
                let id = ids[index]
                if id >= 0 && Int(id) < tokens.count { result.append(id) }
                else { emitFallback(merges.extraText(id) ?? String(scalars[index]), into: &result) }
            }
        }
        wordCache.set(word, result)
        out.append(contentsOf: result)
    }

    static func appendUTF8(_ v: UInt32, to bytes: inout [UInt8]) {
        if v < 0x80 { bytes.append(UInt8(v)) }
        else if v < 0x800 { bytes.append(UInt8(0xC0 | (v >> 6))); bytes.append(UInt8(0x80 | (v & 0x3F))) }
        else if v < 0x10000 {
            bytes.append(UInt8(0xE0 | (v >> 12))); bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F))); bytes.append(UInt8(0x80 | (v & 0x3F)))
        } else {
            bytes.append(UInt8(0xF0 | (v >> 18))); bytes.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F))); bytes.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    private func emit(_ symbol: String, into out: inout [Int32]) {
        if let id = vocabulary[symbol] { out.append(id) } else { emitFallback(symbol, into: &out) }
    }

    /// A symbol missing from the vocabulary: one token per byte (`<0xXX>` or the byte-level character), else UNK.
    private func emitFallback(_ symbol: String, into out: inout [Int32]) {
        // Byte-level vocabularies hold every byte, so a missing symbol cannot be split further: llama.cpp drops it.
        if algorithm == .byteLevelBPE { return }
        for byte in symbol.utf8 {
            let hex = "<0x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2) + ">"
            if let id = vocabulary[hex] { out.append(id) }
            else if let unk = unknownID { out.append(unk); return }
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
