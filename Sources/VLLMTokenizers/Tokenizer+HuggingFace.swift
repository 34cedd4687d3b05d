import Foundation
import VLLMModelFormats

extension Tokenizer {
    /// Loads `tokenizer.json` (+ `tokenizer_config.json`, `generation_config.json`, `chat_template.jinja`) from a
    /// Hugging Face model directory. Supports BPE models with byte-level or metaspace pre-tokenization.
    public init(huggingFaceDirectory directory: String) throws {
        let url = URL(fileURLWithPath: directory)
        let root = try Self.readJSON(url.appendingPathComponent("tokenizer.json"), required: true)
        let config = try Self.readJSON(url.appendingPathComponent("tokenizer_config.json"), required: false)
        let generation = try Self.readJSON(url.appendingPathComponent("generation_config.json"), required: false)
        guard let model = root["model"] as? [String: Any] else { throw TokenizerError.missingField("model in tokenizer.json") }
        let type = model["type"] as? String ?? "BPE"
        guard type == "BPE" || type == "WordPiece" else {
            throw TokenizerError.unsupported("tokenizer.json model type '\(type)' (supported: BPE, WordPiece)")
        }
        guard let vocab = model["vocab"] as? [String: Any] else { throw TokenizerError.missingField("model.vocab") }

        var added: [[String: Any]] = root["added_tokens"] as? [[String: Any]] ?? []
        added.sort { ($0["id"] as? Int ?? 0) < ($1["id"] as? Int ?? 0) }
        // Ids index arrays of `size` entries: one huge id would allocate for every id below it (vocabularies are
        // below 300k tokens; 2^24 leaves room).
        let ids = vocab.values.compactMap { $0 as? Int } + added.compactMap { $0["id"] as? Int }
        if let bad = ids.first(where: { !(0..<Self.maxHuggingFaceVocabulary).contains($0) }) {
            throw TokenizerError.malformed("tokenizer.json has token id \(bad), outside 0..<\(Self.maxHuggingFaceVocabulary)")
        }
        let size = (ids.max() ?? -1) + 1
        var tokens = [String](repeating: "", count: size)
        var kinds = [TokenKind](repeating: .normal, count: size)
        for (text, value) in vocab { if let i = value as? Int, i >= 0 { tokens[i] = text } }
        var specials: [SpecialToken] = []
        for token in added {
            guard let i = token["id"] as? Int, let text = token["content"] as? String, i >= 0 else { continue }
            tokens[i] = text
            let special = token["special"] as? Bool ?? false
            kinds[i] = special ? .control : .userDefined
            specials.append(SpecialToken(text: text, id: Int32(i), kind: kinds[i], lstrip: token["lstrip"] as? Bool ?? false,
                                         rstrip: token["rstrip"] as? Bool ?? false, singleWord: token["single_word"] as? Bool ?? false))
        }
        for (i, t) in tokens.enumerated() where kinds[i] == .normal && t.count == 6 && t.hasPrefix("<0x") && t.hasSuffix(">") {
            kinds[i] = .byte
        }

        // Pre-tokenizer and normalizer shape decide the algorithm.
        var patterns: [String] = []
        var byteLevel = false, metaspace = false, prefixSpace = false, bert = false
        var unicodeForm: UnicodeForm? = nil
        var lowercase = false, stripAccents: Bool? = nil
        func visitPre(_ node: [String: Any]?) throws {
            guard let node else { return }
            switch node["type"] as? String {
            case "Sequence": for child in node["pretokenizers"] as? [[String: Any]] ?? [] { try visitPre(child) }
            case "ByteLevel":
                byteLevel = true
                if node["use_regex"] as? Bool ?? true { patterns.append(PreTokenizerPatterns.byteLevel) }
                if node["add_prefix_space"] as? Bool ?? false { prefixSpace = true }
            case "Split":
                let pattern = node["pattern"] as? [String: Any]
                if let regex = pattern?["Regex"] as? String { patterns.append(regex) }
                else if let literal = pattern?["String"] as? String { patterns.append(NSRegularExpression.escapedPattern(for: literal)) }
            case "Digits": patterns.append(node["individual_digits"] as? Bool ?? false ? #"\p{N}"# : #"\p{N}+"#)
            case "BertPreTokenizer", "Whitespace", "WhitespaceSplit": bert = true
            case "Metaspace":
                metaspace = true
                let scheme = node["prepend_scheme"] as? String ?? ((node["add_prefix_space"] as? Bool ?? true) ? "always" : "never")
                if scheme != "never" { prefixSpace = true }
            case let other: throw TokenizerError.unsupported("pre-tokenizer '\(other ?? "?")'")
            }
        }
        try visitPre(root["pre_tokenizer"] as? [String: Any])
        func visitNormalizer(_ node: [String: Any]?) {
            guard let node else { return }
            switch node["type"] as? String {
            case "Sequence": for child in node["normalizers"] as? [[String: Any]] ?? [] { visitNormalizer(child) }
            case "Prepend": if node["prepend"] as? String == "\u{2581}" { prefixSpace = true; metaspace = true }
            case "NFC": unicodeForm = .nfc
            case "NFKC": unicodeForm = .nfkc
            case "NFD": unicodeForm = .nfd
            case "NFKD": unicodeForm = .nfkd
            case "Lowercase": lowercase = true
            case "StripAccents": stripAccents = true
            case "BertNormalizer":
                lowercase = node["lowercase"] as? Bool ?? true
                stripAccents = node["strip_accents"] as? Bool
            case "Replace":
                if (node["pattern"] as? [String: Any])?["String"] as? String == " ", node["content"] as? String == "\u{2581}" { metaspace = true }
            default: break
            }
        }
        visitNormalizer(root["normalizer"] as? [String: Any])
        let algorithm: Algorithm
        if type == "WordPiece" {
            algorithm = .huggingFaceWordPiece(lowercase: lowercase, stripAccents: stripAccents ?? lowercase,
                                              maxCharacters: model["max_input_chars_per_word"] as? Int ?? 100)
        } else if byteLevel {
            algorithm = .byteLevelBPE
        } else if metaspace {
            algorithm = .metaspaceBPE
        } else {
            throw TokenizerError.unsupported("BPE tokenizer.json without a ByteLevel or Metaspace pre-tokenizer\(bert ? " (BertPreTokenizer needs WordPiece)" : "")")
        }

        var merges = BPEMerges()
        if let list = model["merges"] as? [Any] {
            var ids = ExactMap<Int32>()
            for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = Int32(i) }
            let pairs: [(String, String)] = list.compactMap { entry in
                if let line = entry as? String { return BPEMerges.split(line) }
                if let array = entry as? [String], array.count == 2 { return (array[0], array[1]) }
                return nil
            }
            merges = BPEMerges(pairs: pairs, vocabulary: ids, vocabularySize: tokens.count)
        }

        func tokenID(_ value: Any?) -> Int32? {
            let text = (value as? String) ?? ((value as? [String: Any])?["content"] as? String)
            return text.flatMap { t in tokens.firstIndex(of: t).map(Int32.init) }
        }
        var bos = tokenID(config["bos_token"]), eos = tokenID(config["eos_token"])
        if type == "WordPiece" {
            bos = bos ?? tokenID(config["cls_token"] ?? "[CLS]")
            eos = eos ?? tokenID(config["sep_token"] ?? "[SEP]")
        }
        var addBOS = config["add_bos_token"] as? Bool ?? false, addEOS = config["add_eos_token"] as? Bool ?? false
        if config["add_bos_token"] == nil, let post = root["post_processor"] as? [String: Any] {
            (addBOS, addEOS) = Self.postProcessorAdds(post, bos: bos.map { tokens[Int($0)] }, eos: eos.map { tokens[Int($0)] })
        }
        var endOfGeneration = Set<Int32>()
        if let e = eos { endOfGeneration.insert(e) }
        if let ids = generation["eos_token_id"] as? [Int] { endOfGeneration.formUnion(ids.compactMap { Int32(exactly: $0) }) }
        if let id = generation["eos_token_id"] as? Int, let id = Int32(exactly: id) { endOfGeneration.insert(id) }
        for s in specials where s.kind == .control && Self.endOfGenerationTexts.contains(s.text) { endOfGeneration.insert(s.id) }

        var template: String? = nil
        if let text = config["chat_template"] as? String { template = text }
        else if let list = config["chat_template"] as? [[String: Any]] {
            template = (list.first { $0["name"] as? String == "default" } ?? list.first)?["template"] as? String
        }
        if let file = try Self.readFile(url.appendingPathComponent("chat_template.jinja")) { template = String(decoding: file, as: UTF8.self) }

        try self.init(algorithm: algorithm, tokens: tokens, kinds: kinds, merges: merges,
                      scores: [], patterns: patterns, ignoreMerges: model["ignore_merges"] as? Bool ?? false,
                      addSpacePrefix: prefixSpace, specials: specials, unknownID: tokenID(model["unk_token"]),
                      bosTokenID: bos, eosTokenID: eos, addBOS: addBOS, addEOS: addEOS, endOfGeneration: endOfGeneration,
                      chatTemplate: template)
        self.unicodeForm = unicodeForm
        if type == "BPE" { lowercaseInput = lowercase }
    }

    /// The largest token id + 1 a `tokenizer.json` may use.
    static let maxHuggingFaceVocabulary = 1 << 24

    /// Whether a post-processor's single-sequence template adds the BOS / EOS token.
    static func postProcessorAdds(_ node: [String: Any], bos: String?, eos: String?) -> (Bool, Bool) {
        switch node["type"] as? String {
        case "TemplateProcessing":
            let single = node["single"] as? [[String: Any]] ?? []
            var addsBOS = false, addsEOS = false, seenSequence = false
            for piece in single {
                if piece["Sequence"] != nil { seenSequence = true; continue }
                guard let id = (piece["SpecialToken"] as? [String: Any])?["id"] as? String else { continue }
                if !seenSequence, id == bos { addsBOS = true }
                if seenSequence, id == eos { addsEOS = true }
            }
            return (addsBOS, addsEOS)
        case "Sequence":
            var result = (false, false)
            for child in node["processors"] as? [[String: Any]] ?? [] {
                let r = postProcessorAdds(child, bos: bos, eos: eos)
                result = (result.0 || r.0, result.1 || r.1)
            }
            return result
        default:
            return (false, false)
        }
    }

    /// The bytes of a file of the model directory, nil when absent; a FIFO or other non-regular file is refused
    /// before it is opened (opening a FIFO blocks until a writer comes).
    static func readFile(_ url: URL) throws -> [UInt8]? {
        do {
            return try MappedFile.contents(of: url.path, limit: 1 << 30)
        } catch {
            throw TokenizerError.malformed(error.message)
        }
    }

    static func readJSON(_ url: URL, required: Bool) throws -> [String: Any] {
        guard let bytes = try readFile(url) else {
            if required { throw TokenizerError.malformed("cannot read \(url.path)") }
            return [:]
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw TokenizerError.malformed("\(url.lastPathComponent) is not a JSON object")
        }
        return object
    }
}
