import VLLMModelFormats

extension Tokenizer {
    /// Texts llama.cpp treats as end-of-generation when they are control tokens.
    static let endOfGenerationTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
        "<|end▁of▁sentence|>", "<｜end▁of▁sentence｜>", "<|return|>", "<|call|>", "<|end_of_text|>", "<reponame>",
        "<|repo_name|>", "<|file_sep|>",
    ]

    /// Loads the tokenizer stored in a GGUF file's `tokenizer.ggml.*` metadata.
    public init(gguf: GGUFFile) throws {
        let meta = gguf.metadata
        guard let model = meta["tokenizer.ggml.model"]?.string else { throw TokenizerError.missingField("tokenizer.ggml.model") }
        guard let tokens = meta["tokenizer.ggml.tokens"]?.strings else { throw TokenizerError.missingField("tokenizer.ggml.tokens") }
        let kinds = (meta["tokenizer.ggml.token_type"]?.ints ?? []).map { TokenKind(rawValue: Int32($0)) ?? .normal }
        let tokenKinds = kinds.count == tokens.count ? kinds : [TokenKind](repeating: .normal, count: tokens.count)
        func id(_ key: String) -> Int32? {
            guard let v = meta["tokenizer.ggml.\(key)"]?.int, v >= 0, v < tokens.count else { return nil }
            return Int32(v)
        }
        let algorithm: Algorithm
        var patterns: [String] = []
        var ignoreMerges = false
        var addBOS: Bool, addSpacePrefix = false
        var merges = BPEMerges()
        var bos = id("bos_token_id"), eos = id("eos_token_id")
        switch model {
        case "gpt2":
            algorithm = .byteLevelBPE
            (patterns, ignoreMerges) = try PreTokenizerPatterns.forGGUF(pre: meta["tokenizer.ggml.pre"]?.string)
            addBOS = false
            if bos == nil, meta["tokenizer.ggml.bos_token_id"] == nil, tokens.count > 11 { bos = 11 }
            if eos == nil, meta["tokenizer.ggml.eos_token_id"] == nil, tokens.count > 11 { eos = 11 }
            guard let list = meta["tokenizer.ggml.merges"]?.strings else { throw TokenizerError.missingField("tokenizer.ggml.merges") }
            merges = try Self.parseMerges(list, tokens: tokens)
        case "llama":
            algorithm = .sentencePiece
            addBOS = true
            addSpacePrefix = true
            if bos == nil, meta["tokenizer.ggml.bos_token_id"] == nil { bos = 1 }
            if eos == nil, meta["tokenizer.ggml.eos_token_id"] == nil { eos = 2 }
        case "gemma4":
            algorithm = .metaspaceBPE
            patterns = ["[^\n]+|[\n]+"]
            addBOS = true
            guard let list = meta["tokenizer.ggml.merges"]?.strings else { throw TokenizerError.missingField("tokenizer.ggml.merges") }
            merges = try Self.parseMerges(list, tokens: tokens)
        case "bert":
            let lowercase = meta["tokenizer.ggml.normalizer.lowercase"]?.bool ?? true
            algorithm = .wordPiece(lowercase: lowercase, stripAccents: meta["tokenizer.ggml.normalizer.strip_accents"]?.bool ?? lowercase)
            addBOS = true
            if bos == nil { bos = id("cls_token_id") }
            if eos == nil { eos = id("seperator_token_id") }
        default:
            throw TokenizerError.unsupported("tokenizer model '\(model)' (supported: gpt2 byte-level BPE, llama SentencePiece, gemma4 BPE, bert WordPiece)")
        }
        addBOS = meta["tokenizer.ggml.add_bos_token"]?.bool ?? addBOS
        let addEOS = meta["tokenizer.ggml.add_eos_token"]?.bool ?? (model == "bert")
        addSpacePrefix = meta["tokenizer.ggml.add_space_prefix"]?.bool ?? addSpacePrefix
        if model != "llama" { addSpacePrefix = false }
        var specials: [SpecialToken] = []
        var endOfGeneration = Set<Int32>()
        for (i, kind) in tokenKinds.enumerated() where kind == .control || kind == .userDefined || kind == .unknown {
            if !tokens[i].isEmpty { specials.append(SpecialToken(text: tokens[i], id: Int32(i), kind: kind)) }
            if kind == .control, Self.endOfGenerationTexts.contains(tokens[i]) { endOfGeneration.insert(Int32(i)) }
        }
        for key in ["eos_token_id", "eot_token_id", "eom_token_id"] { if let v = id(key) { endOfGeneration.insert(v) } }
        if let e = eos { endOfGeneration.insert(e) }
        try self.init(algorithm: algorithm, tokens: tokens, kinds: tokenKinds, merges: merges,
                      scores: meta["tokenizer.ggml.scores"]?.floats ?? [], patterns: patterns, ignoreMerges: ignoreMerges,
                      addSpacePrefix: addSpacePrefix, specials: specials, unknownID: id("unknown_token_id"),
                      bosTokenID: bos, eosTokenID: eos, addBOS: addBOS, addEOS: addEOS, endOfGeneration: endOfGeneration,
                      chatTemplate: meta["tokenizer.chat_template"]?.string)
    }

    /// Parses "A B" merge lines (split at the first space after index 0) into a rank table over token ids.
    static func parseMerges(_ lines: [String], tokens: [String]) throws -> BPEMerges {
        var ids = ExactMap<Int32>()
        ids.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = Int32(i) }
        return BPEMerges(lines: lines, vocabulary: ids, vocabularySize: tokens.count)
    }
}
