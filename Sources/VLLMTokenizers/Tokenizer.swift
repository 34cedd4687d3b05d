import Synchronization

/// A token's role, as GGUF `tokenizer.ggml.token_type` numbers them.
public enum TokenKind: Int32, Sendable {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// A text ↔ token-id converter: byte-level BPE (GPT-2 family), SentencePiece BPE (Llama 2 family) or BPE with
/// byte fallback, loaded from GGUF metadata or a Hugging Face `tokenizer.json`.
public struct Tokenizer: Sendable {
    enum Algorithm: Sendable, Equatable {
        /// Byte-level BPE: text is split by the pre-tokenizer, bytes map to printable characters, merges by rank.
        case byteLevelBPE
        /// llama.cpp SPM: spaces become U+2581, merges by score, `<0xXX>` byte fallback.
        case sentencePiece
        /// BPE over U+2581-escaped text with `<0xXX>` byte fallback (Llama 2 / Mistral tokenizer.json, Gemma 4 GGUF).
        case metaspaceBPE
        /// WordPiece (BERT): greedy longest match per word, word starts marked with U+2581 as llama.cpp stores them.
        case wordPiece(lowercase: Bool, stripAccents: Bool)
        /// Hugging Face WordPiece (BERT tokenizer.json): continuation pieces carry "##"; long words become UNK.
        case huggingFaceWordPiece(lowercase: Bool, stripAccents: Bool, maxCharacters: Int)
    }

    /// A Hugging Face unicode normalizer applied to text before pre-tokenization (special tokens are exempt).
    enum UnicodeForm: Sendable, Equatable { case nfc, nfkc, nfd, nfkd }

    struct SpecialToken: Sendable {
        var text: String
        var id: Int32
        var kind: TokenKind
        var lstrip = false
        var rstrip = false
        /// Matches only as a whole word (not inside a longer run of word characters).
        var singleWord = false
    }

    let algorithm: Algorithm
    let tokens: [String]
    let tokenBytes: [[UInt8]]
    let kinds: [TokenKind]
    let vocabulary: ExactMap<Int32>
    let merges: BPEMerges
    let scores: [Float]
    let splitters: [SplitRegex]
    let ignoreMerges: Bool
    /// Whether a space is prepended to the text (SentencePiece `add_space_prefix`, ByteLevel `add_prefix_space`).
    public let addSpacePrefix: Bool
    let specials: [SpecialToken]
    let unknownID: Int32?
    let wordCache = WordCache()
    /// The longest token in bytes (bounds WordPiece's greedy match).
    let maxTokenBytes: Int
    /// Normalization of raw text (Hugging Face `normalizer`), if any.
    var unicodeForm: UnicodeForm? = nil
    /// Lowercase raw text first (Hugging Face `Lowercase` normalizer on BPE models).
    var lowercaseInput = false

    /// The beginning / end-of-sequence token ids, if the model has them.
    public let bosTokenID: Int32?
    public let eosTokenID: Int32?
    /// Whether `encode(_:addSpecialTokens: true)` adds BOS / EOS.
    public let addBOS: Bool
    public let addEOS: Bool
    /// Tokens that end generation (EOS, EOT, `<|im_end|>`, ...).
    public let endOfGenerationIDs: Set<Int32>
    /// The model's chat template (Jinja source), if it ships one.
    public let chatTemplate: String?

    /// The number of tokens in the vocabulary.
    public var vocabularySize: Int { tokens.count }
    /// The text of a token as the vocabulary stores it, or nil for an id out of range.
    public func tokenText(_ id: Int32) -> String? { tokens.indices.contains(Int(id)) ? tokens[Int(id)] : nil }
    /// The bytes token `id` adds to decoded text (control tokens: their text), empty for an id out of range.
    public func tokenBytes(_ id: Int32) -> [UInt8] { tokenBytes.indices.contains(Int(id)) ? tokenBytes[Int(id)] : [] }
    /// The role of token `id` (normal, control, byte, ...), nil for an id out of range.
    public func tokenKind(_ id: Int32) -> TokenKind? { kinds.indices.contains(Int(id)) ? kinds[Int(id)] : nil }
    /// The id of a token text, if it is in the vocabulary.
    public func tokenID(_ text: String) -> Int32? { vocabulary[text] }
    /// The BOS / EOS token texts.
    public var bosToken: String? { bosTokenID.flatMap(tokenText) }
    public var eosToken: String? { eosTokenID.flatMap(tokenText) }
    /// Whether an id is a control token (skipped by `skipSpecialTokens`).
    public func isSpecial(_ id: Int32) -> Bool {
        kinds.indices.contains(Int(id)) && (kinds[Int(id)] == .control || kinds[Int(id)] == .unknown)
    }

    init(algorithm: Algorithm, tokens: [String], kinds: [TokenKind], merges: BPEMerges, scores: [Float],
         patterns: [String], ignoreMerges: Bool, addSpacePrefix: Bool, specials: [SpecialToken], unknownID: Int32?,
         bosTokenID: Int32?, eosTokenID: Int32?, addBOS: Bool, addEOS: Bool, endOfGeneration: Set<Int32>,
         chatTemplate: String?) throws {
        self.algorithm = algorithm
        self.tokens = tokens
        self.kinds = kinds
        var vocabulary = ExactMap<Int32>()
        vocabulary.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where vocabulary[t] == nil { vocabulary[t] = Int32(i) }
        self.vocabulary = vocabulary
        self.merges = merges
        self.scores = scores
        splitters = try patterns.map { try SplitRegex($0) }
        self.ignoreMerges = ignoreMerges
        self.addSpacePrefix = addSpacePrefix
        self.specials = specials.sorted { $0.text.utf8.count > $1.text.utf8.count }
        self.unknownID = unknownID
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.addBOS = addBOS
        self.addEOS = addEOS
        endOfGenerationIDs = endOfGeneration
        self.chatTemplate = chatTemplate
        tokenBytes = zip(tokens, kinds).map { Self.bytes(of: $0.0, kind: $0.1, algorithm: algorithm) }
        maxTokenBytes = tokens.map(\.utf8.count).max() ?? 1
    }

    /// The bytes a token contributes to decoded text.
    static func bytes(of text: String, kind: TokenKind, algorithm: Algorithm) -> [UInt8] {
        switch (algorithm, kind) {
        case (_, .control), (_, .userDefined), (_, .unknown):
            return Array(text.utf8)
        case (.byteLevelBPE, _):
            return ByteLevel.decode(text)
        case (.huggingFaceWordPiece, _):
            return Array((text.hasPrefix("##") ? String(text.dropFirst(2)) : " " + text).utf8)
        case (_, .byte), (.sentencePiece, _), (.metaspaceBPE, _), (.wordPiece, _):
            if text.count == 6, text.hasPrefix("<0x"), text.hasSuffix(">"),
               let value = UInt8(text.dropFirst(3).prefix(2), radix: 16) {
                return [value]
            }
            return Array(String(text.map { $0 == "\u{2581}" ? " " : $0 }).utf8)
        }
    }
}

/// A per-tokenizer cache of pre-tokenized words → token ids (shared by copies of the tokenizer).
final class WordCache: Sendable {
    private let storage = Mutex<ExactMap<[Int32]>>(ExactMap())

    func get(_ word: String) -> [Int32]? { storage.withLock { $0[word] } }

    func set(_ word: String, _ ids: [Int32]) {
        storage.withLock { cache in
            if cache.count > 100_000 { cache.removeAll() }
            cache[word] = ids
        }
    }
}
