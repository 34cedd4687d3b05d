import Synchronization
import VLLMJSON

/// Compiles constraints for one vocabulary; the vocabulary's sorted trie is built once here and shared by all grammars.
/// Compiled grammars are cached by constraint (least recently used out first).
public final class GrammarCompiler: Sendable {
    let vocabulary: TokenVocabulary
    let trie: VocabularyTrie
    private let cache = Mutex<(entries: [StructuredOutputs: CompiledGrammar], order: [StructuredOutputs])>(([:], []))
    /// Compiled grammars kept.
    public static let cacheCapacity = 64

    /// Builds the vocabulary's trie.
    public init(vocabulary: TokenVocabulary) {
        self.vocabulary = vocabulary
        trie = VocabularyTrie(vocabulary)
    }

    /// Compiles a constraint (cache compiled grammars by value, bounded); throws GrammarError for bad input or an
    /// unsupported feature.
    public func compile(_ constraint: StructuredOutputs) throws(GrammarError) -> CompiledGrammar {
        if let hit = cache.withLock({ c -> CompiledGrammar? in
            guard let g = c.entries[constraint] else { return nil }
            c.order.removeAll { $0 == constraint }
            c.order.append(constraint)
            return g
        }) { return hit }
        let compiled = try CompiledGrammar(grammar: try Self.grammar(for: constraint), vocabulary: vocabulary, trie: trie)
        cache.withLock { c in
            if c.entries[constraint] == nil {
                c.order.append(constraint)
                if c.order.count > Self.cacheCapacity { c.entries[c.order.removeFirst()] = nil }
            }
            c.entries[constraint] = compiled
        }
        return compiled
    }

    /// The grammar a constraint stands for, as vLLM's xgrammar backend builds it.
    static func grammar(for constraint: StructuredOutputs) throws(GrammarError) -> Grammar {
        switch constraint {
        case .json(let schema, let whitespace):
            var converter = try JSONSchemaConverter(whitespacePattern: whitespace)
            return try converter.convert(schema)
        case .jsonObject(let whitespace):
            var converter = try JSONSchemaConverter(whitespacePattern: whitespace)
            return try converter.convert(.object(["type": .string("object")]))
        case .regex(let pattern):
            var parser = RegexParser(pattern)
            return Grammar(rules: [("root", try parser.parse())])
        case .choice(let choices):
            if choices.isEmpty { throw GrammarError("choice: the list of choices is empty") }
            return Grammar(rules: [("root", .choice(choices.map { .literal($0) }))])
        case .grammar(let source):
            let ebnf = LarkConverter.isLikelyLark(source) ? try LarkConverter.convert(source) : source
            var parser = EBNFParser(ebnf)
            return try parser.parse()
        }
    }
}
