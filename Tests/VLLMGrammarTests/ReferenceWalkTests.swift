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

    /// Thousands more walks per grammar, stored as one digest each: at every step both sides take the same token,
    /// derived from the seed and the allowed set itself (tools/gen-grammar-fixtures.py's `seeded_walk`), and fold the
    /// step's allowed count and set hash into the digest, so any step whose mask differs from xgrammar's changes it.
    @Test(arguments: cases)
    func sameMasksOnSeededWalks(_ c: Case) throws {
        let fixture = Self.fixture.object!
        let size = Int(fixture["vocabularySize"]!.number!)
        let eosList = fixture["endOfGeneration"]!.array!.map { Int32($0.number!) }
        let eos = eosList[0]
        let seeded = fixture["grammars"]!.array!.first { $0.object?["name"]?.string == c.name }!.object!["seededWalks"]!.object!
        let maxSteps = Int(seeded["maxSteps"]!.number!)
        let expected = seeded["digests"]!.array!.compactMap(\.string)
        let compiler = GrammarCompiler(vocabulary: try QwenVocabulary.vocabulary(size: size, endOfGeneration: Set(eosList)))
        let grammar = try compiler.compile(c.constraint)
        var mask = [UInt32](repeating: 0, count: (size + 31) / 32)
        // Masks repeat (inside strings every step has the same one): count and hash each distinct mask once.
        var digests: [[UInt32]: (count: Int, hash: UInt64)] = [:]
        var mismatches = 0
        for (seed, reference) in expected.enumerated() {
            var matcher = GrammarMatcher(grammar)
            var digest: UInt64 = 0, steps = 0
            for i in 0..<maxSteps {
                mask.withUnsafeMutableBufferPointer { matcher.fillNextTokenBitmask($0) }
                let set = digests[mask] ?? { () -> (count: Int, hash: UInt64) in
                    let allowed = MaskDigest.allowed(mask)
                    let value = (allowed.count, MaskDigest.hash(allowed))
                    digests[mask] = value
                    return value
                }()
                digest = Self.splitmix(digest ^ (UInt64(set.count) << 48 | set.hash))
                steps += 1
                if set.count == 0 { break }
                let r = Self.splitmix(UInt64(seed) &* 1_000_003 &+ UInt64(i))
                let hasEOS = mask[Int(eos) / 32] & (1 << UInt32(eos % 32)) != 0
                let others = set.count - (hasEOS ? 1 : 0)
                let token = others == 0 || (r % 25 == 0 && hasEOS) ? eos : Self.allowedID(mask, skipping: eos, at: Int((r >> 8) % UInt64(others)))
                guard matcher.accept(token) else { Issue.record("\(c.name) seeded walk \(seed) step \(i): token \(token) refused"); break }
                if token == eos { break }
            }
            let got = String(digest, radix: 16).leftPadded(16) + ":\(steps)"
            if got != reference {
                mismatches += 1
                if mismatches <= 3 { Issue.record("\(c.name) seeded walk \(seed): digest \(got), xgrammar \(reference)") }
            }
        }
        #expect(mismatches == 0)
        #expect(expected.count >= 2000)
    }

    /// The `index`-th allowed id of `mask` in increasing order, not counting `skipped`.
    static func allowedID(_ mask: [UInt32], skipping skipped: Int32, at index: Int) -> Int32 {
        var remaining = index
        for (w, word) in mask.enumerated() {
            var bits = word
            if Int(skipped) / 32 == w { bits &= ~(1 << UInt32(skipped % 32)) }
            let n = bits.nonzeroBitCount
            if remaining >= n { remaining -= n; continue }
            for _ in 0..<remaining { bits &= bits - 1 }
            return Int32(w * 32 + bits.trailingZeroBitCount)
        }
        preconditionFailure("index beyond the mask")
    }

    static func splitmix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
