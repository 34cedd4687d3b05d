import Foundation
import Testing
import VLLMGrammar
import VLLMJSON

/// Replays xgrammar's random walks (Fixtures/walks.json, made by tools/gen-grammar-fixtures.py on the same Qwen2.5
/// vocabulary): at every step our allowed-token set must equal xgrammar's (count and set hash), and every token the
/// walk took must be accepted.
struct ReferenceWalkTests {
    struct Walk { var tokens: [Int32]; var steps: [(count: Int, hash: UInt64)] }
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var constraint: StructuredOutputs
        var description: String { name }
    }

    static let fixture: JSONValue = {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/walks.json")
        return (try? JSONParser.parse(Data(contentsOf: url))) ?? .null
    }()

    static func constraint(kind: String, source: JSONValue) throws -> StructuredOutputs {
        switch kind {
        case "json": return .json(schema: try JSONParser.parse(Data(source.string!.utf8)))
        case "json_object": return .jsonObject()
        case "regex": return .regex(source.string!)
        case "choice": return .choice(source.array!.compactMap(\.string))
        default: return .grammar(source.string!)
        }
    }

    static let cases: [Case] = (fixture.object?["grammars"]?.array ?? []).compactMap { g in
        guard let o = g.object, let name = o["name"]?.string, let kind = o["kind"]?.string, let source = o["source"],
              let c = try? constraint(kind: kind, source: source) else { return nil }
        return Case(name: name, constraint: c)
    }

    static func walks(_ name: String) -> [Walk] {
        let g = fixture.object!["grammars"]!.array!.first { $0.object?["name"]?.string == name }!
        return g.object!["walks"]!.array!.map { w in
            let tokens = w.object!["tokens"]!.array!.map { Int32($0.number!) }
            let steps = w.object!["steps"]!.array!.map { s -> (Int, UInt64) in
                let parts = s.string!.split(separator: ":")
                return (Int(parts[0])!, UInt64(parts[1], radix: 16)!)
            }
            return Walk(tokens: tokens, steps: steps)
        }
    }

    @Test func fixtureCoversEveryGrammar() {
        #expect(Self.cases.count == (Self.fixture.object?["grammars"]?.array?.count ?? -1))
        #expect(Self.cases.count >= 12)
    }

    @Test(arguments: cases)
    func sameMasksAsXGrammar(_ c: Case) throws {
        let fixture = Self.fixture.object!
        let size = Int(fixture["vocabularySize"]!.number!)
        let eos = Set(fixture["endOfGeneration"]!.array!.map { Int32($0.number!) })
        let compiler = GrammarCompiler(vocabulary: try QwenVocabulary.vocabulary(size: size, endOfGeneration: eos))
        let grammar = try compiler.compile(c.constraint)
        var mask = [UInt32](repeating: 0, count: (size + 31) / 32)
        var steps = 0, mismatches = 0
        let walks = Self.walks(c.name)
        for (w, walk) in walks.enumerated() {
            var matcher = GrammarMatcher(grammar)
            for (i, expected) in walk.steps.enumerated() {
                mask.withUnsafeMutableBufferPointer { matcher.fillNextTokenBitmask($0) }
                let allowed = MaskDigest.allowed(mask)
                steps += 1
                if allowed.count != expected.count || MaskDigest.hash(allowed) != expected.hash {
                    mismatches += 1
                    if mismatches <= 3 {
                        Issue.record("\(c.name) walk \(w) step \(i) after \(walk.tokens[..<i]): \(allowed.count) allowed, xgrammar \(expected.count)")
                    }
                    break
                }
                guard i < walk.tokens.count else { break }
                let accepted = matcher.accept(walk.tokens[i])
                #expect(accepted, "\(c.name) walk \(w) step \(i): token \(walk.tokens[i]) refused")
                if !accepted { break }
            }
        }
        #expect(mismatches == 0)
        #expect(steps == walks.reduce(0) { $0 + $1.steps.count })
        #expect(walks.count >= 150)
    }
}
