import Synchronization
import VLLMGrammar
import VLLMTokenizers

/// Compiles requests' output constraints against the model's vocabulary (vLLM's `StructuredOutputManager`). Shared:
/// the server compiles on its own threads before a request queues (a bad schema is a 400, and the engine loop never
/// waits on a compile), and the engine then finds the grammar in the compiler's cache.
public final class StructuredOutputManager: Sendable {
    private let tokenizer: Tokenizer
    private let vocabularySize: Int
    private let endOfGeneration: Set<Int32>
    private let compiler = Mutex<GrammarCompiler?>(nil)

    /// - Parameters:
    ///   - vocabularySize: the width of the model's logits rows (it may exceed the tokenizer's vocabulary).
    ///   - endOfGeneration: the ids a grammar allows where it may end.
    public init(tokenizer: Tokenizer, vocabularySize: Int, endOfGeneration: Set<Int32>) {
        self.tokenizer = tokenizer
        self.vocabularySize = vocabularySize
        self.endOfGeneration = endOfGeneration
    }

    /// The compiler, built on first use: indexing a 150k-token vocabulary takes a while, which a server that never
    /// constrains an output should not pay at start-up.
    private var grammarCompiler: GrammarCompiler {
        compiler.withLock { compiler in
            if let compiler { return compiler }
            let built = GrammarCompiler(vocabulary: vocabulary())
            compiler = built
            return built
        }
    }

    /// The grammar of `constraint`; an unsupported feature or a malformed schema, regex or grammar is an
    /// `InvalidParameter` naming `structured_outputs`.
    public func compile(_ constraint: StructuredOutputs) throws(InvalidParameter) -> CompiledGrammar {
        let compiler = grammarCompiler
        do {
            return try compiler.compile(constraint)
        } catch {
            throw InvalidParameter("structured_outputs", error.description)
        }
    }

    /// Each token's output bytes; control tokens get none (a grammar never allows them, end-of-generation aside).
    private func vocabulary() -> TokenVocabulary {
        let bytes = (0..<tokenizer.vocabularySize).map { id -> [UInt8] in
            tokenizer.isSpecial(Int32(id)) ? [] : tokenizer.tokenBytes(Int32(id))
        }
        return TokenVocabulary(tokenBytes: bytes, endOfGeneration: endOfGeneration, size: vocabularySize)
    }
}
