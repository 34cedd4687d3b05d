import Foundation
import Testing
import VLLMGrammar
import VLLMJSON

/// The matcher on a small vocabulary where every answer can be worked out by hand.
struct GrammarMatcherTests {
    // ids: 0 "a", 1 "b", 2 "ab", 3 "{", 4 "}", 5 "\"", 6 "1", 7 " ", 8 "\"a", 9 "é" (2 bytes), 10 0xC3, 11 0xA9,
    // 12 special (empty), 13 EOS; 14, 15 padding.
    static let tokens: [[UInt8]] = ["a", "b", "ab", "{", "}", "\"", "1", " ", "\"a", "é"].map { Array($0.utf8) }
        + [[0xC3], [0xA9], [], []]
    static let vocabulary = TokenVocabulary(tokenBytes: tokens, endOfGeneration: [13], size: 16)
    static let compiler = GrammarCompiler(vocabulary: vocabulary)

    static func allowed(_ m: inout GrammarMatcher) -> [Int32] {
        var mask = [UInt32](repeating: 0xFFFF_FFFF, count: 1)
        mask.withUnsafeMutableBufferPointer { m.fillNextTokenBitmask($0) }
        return (0..<16).filter { mask[0] & (1 << UInt32($0)) != 0 }.map(Int32.init)
    }

    static func take(_ m: inout GrammarMatcher, _ token: Int32) -> Bool { m.accept(token) }

    @Test func endOfGenerationOnlyWhereTheGrammarMayEnd() throws {
        var m = GrammarMatcher(try Self.compiler.compile(.regex("a+b?")))
        #expect(Self.allowed(&m) == [0, 2])
        #expect(Self.take(&m, 0))
        #expect(Self.allowed(&m) == [0, 1, 2, 13])
        #expect(Self.take(&m, 1))
        #expect(Self.allowed(&m) == [13])  // nothing else can follow: only EOS
        #expect(!Self.take(&m, 0))
        #expect(Self.take(&m, 13))
        #expect(m.isTerminated)
    }

    @Test func refusedTokensLeaveTheStateUnchanged() throws {
        var m = GrammarMatcher(try Self.compiler.compile(.choice(["ab", "b"])))
        #expect(!Self.take(&m, 13))
        #expect(!Self.take(&m, 12))
        #expect(!Self.take(&m, 15))
        #expect(!Self.take(&m, -1))
        #expect(Self.allowed(&m) == [0, 1, 2])
        #expect(Self.take(&m, 0))
        #expect(Self.allowed(&m) == [1])
    }

    @Test func tokensMaySpanTerminalsAndSplitCharacters() throws {
        var m = GrammarMatcher(try Self.compiler.compile(.grammar("root ::= \"\\\"\" [^\"]* \"\\\"\"")))
        #expect(Self.allowed(&m) == [5, 8])
        #expect(Self.take(&m, 8))  // `"a` spans the quote and the first character
        #expect(Self.allowed(&m) == [0, 1, 2, 3, 4, 5, 6, 7, 9, 10])  // 0xA9 alone cannot start a character
        #expect(Self.take(&m, 10))
        #expect(Self.allowed(&m) == [11])  // the rest of é
        #expect(Self.take(&m, 11))
        #expect(Self.take(&m, 5))
        #expect(Self.allowed(&m) == [13])
    }

    @Test func jsonObjectAllowsAnyObjectOnly() throws {
        var m = GrammarMatcher(try Self.compiler.compile(.jsonObject()))
        #expect(Self.allowed(&m) == [3])
        #expect(Self.take(&m, 3))
        #expect(Self.take(&m, 7))
        #expect(Self.allowed(&m) == [4, 5, 7, 8])
        #expect(Self.take(&m, 4))
        #expect(Self.allowed(&m) == [13])
    }

    @Test func recursiveReferencesNest() throws {
        let schema = try JSONParser.parse(Data(##"{"$ref": "#/$defs/n", "$defs": {"n": {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"$ref": "#/$defs/n"}}]}}}"##.utf8))
        var m = GrammarMatcher(try Self.compiler.compile(.json(schema: schema)))
        #expect(Self.allowed(&m) == [6])  // "[" is not in the vocabulary, so only an integer can start
        #expect(Self.take(&m, 6))
        #expect(Self.allowed(&m) == [6, 13])
    }

    @Test func compiledGrammarsAreCachedByValue() throws {
        let a = try Self.compiler.compile(.regex("ab"))
        let b = try Self.compiler.compile(.regex("ab"))
        #expect(a === b)
    }
}
