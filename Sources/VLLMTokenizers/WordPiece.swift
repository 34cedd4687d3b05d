import Foundation

extension Tokenizer {
    /// llama.cpp's WPM tokenizer: normalise (optional NFD + accent stripping, lowercase), split on whitespace and
    /// around punctuation, ASCII symbols and CJK ideographs, then greedily match the longest token of "▁" + word
    /// (continuations are stored without "##"). A word with an unmatched remainder becomes UNK.
    func encodeWordPiece(_ raw: Substring, lowercase: Bool, stripAccents: Bool, into out: inout [Int32]) {
        for word in Self.bertWords(raw, lowercase: lowercase, stripAccents: stripAccents) {
            let bytes = Array(("\u{2581}" + word).utf8)
            let start = out.count
            var i = 0
            var failed = false
            while i < bytes.count {
                var matched = false
                var j = min(bytes.count, i + maxTokenBytes)
                while j > i {
                    if let id = vocabulary[String(decoding: bytes[i..<j], as: UTF8.self)], String(bytes: bytes[i..<j], encoding: .utf8) != nil {
                        out.append(id)
                        i = j
                        matched = true
                        break
                    }
                    j -= 1
                }
                if !matched { failed = true; break }
            }
            if failed { out.removeSubrange(start...) }
            if out.count == start, let unk = unknownID { out.append(unk) }
        }
    }

    /// Hugging Face WordPiece on one pre-tokenized word: longest prefix first, then "##" continuations.
    func encodeHuggingFaceWordPiece(_ word: String, maxCharacters: Int, into out: inout [Int32]) {
        let chars = Array(word.unicodeScalars)
        if chars.count > maxCharacters { if let unk = unknownID { out.append(unk) }; return }
        var pieces: [Int32] = []
        var start = 0
        while start < chars.count {
            var end = chars.count
            var found: Int32? = nil
            while start < end {
                var piece = String(String.UnicodeScalarView(chars[start..<end]))
                if start > 0 { piece = "##" + piece }
                if let id = vocabulary[piece] { found = id; break }
                end -= 1
            }
            guard let id = found else { if let unk = unknownID { out.append(unk) }; return }
            pieces.append(id)
            start = end
        }
        out.append(contentsOf: pieces)
    }

    /// BERT's basic tokenization (shared by llama.cpp's WPM and Hugging Face's BertNormalizer + BertPreTokenizer):
    /// drop control characters, optionally strip accents (NFD, drop marks) and lowercase, split on whitespace and
    /// around punctuation, ASCII symbols and CJK ideographs.
    static func bertWords(_ raw: Substring, lowercase: Bool, stripAccents: Bool, nonspacingOnly: Bool = false) -> [String] {
        var text = String(raw)
        if stripAccents { text = text.decomposedStringWithCanonicalMapping }
        var words: [String] = [""]
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if UnicodeCategories.isWhitespace(v) {
                if !words[words.count - 1].isEmpty { words.append("") }
                continue
            }
            let category = UnicodeCategories.code(of: scalar.properties.generalCategory)
            if v == 0 || v == 0xFFFD || category.first == "C" { continue }
            // llama.cpp drops every mark (\p{M}); Hugging Face's BertNormalizer only nonspacing marks (Mn).
            if stripAccents && (nonspacingOnly ? category == "Mn" : category.first == "M") { continue }
            let piece = lowercase ? String(scalar).lowercased() : String(scalar)
            if category.first == "P" || (v < 0x7F && category.first == "S") || Self.isCJK(v) {
                if !words[words.count - 1].isEmpty { words.append("") }
                words[words.count - 1] = piece
                words.append("")
            } else {
                words[words.count - 1] += piece
            }
        }
        return words.filter { !$0.isEmpty }
    }

    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B920...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}
