import Foundation
import VLLMGrammar
import VLLMJSON

/// Times the grammar engine on a vocabulary: compiling a schema, and filling one step's token mask along random walks
/// (each step takes a random allowed token other than end-of-generation). tools/gen-grammar-fixtures.sh --bench times
/// xgrammar on the same vocabulary, schemas and walk shape.
struct GrammarBenchmark {
    /// The schemas timed, by name (the same as the Python tool's).
    static let schemas: [(name: String, constraint: String)] = [
        ("schema_person", #"""
        {"type": "object", "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 12},
         "age": {"type": "integer"}, "email": {"type": "string"},
         "tags": {"type": "array", "items": {"type": "string", "maxLength": 6}, "maxItems": 3},
         "active": {"type": "boolean"}}, "required": ["name", "age"], "additionalProperties": false}
        """#),
        ("schema_recursive_ref", #"""
        {"$ref": "#/$defs/node", "$defs": {"node": {"type": "object", "properties": {"value": {"type": "integer"},
         "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["value", "children"],
         "additionalProperties": false}}}
        """#),
        ("json_object", ""),
    ]

    let vocabulary: TokenVocabulary
    var walks = 40
    var stepsPerWalk = 40

    struct Result {
        var name: String
        var compileMs: Double
        var compileWithMasksMs: Double
        var nodes: Int
        var maskMedianMicros: Double
        var maskP99Micros: Double
        /// The same walks with the matcher's repeated-state mask reuse off: every step computed in full.
        var fullMedianMicros: Double
        var fullP99Micros: Double
        var firstWalkMedianMicros: Double
        var steps: Int
    }

    static func constraint(_ schema: String) throws -> StructuredOutputs {
        schema.isEmpty ? .jsonObject() : .json(schema: try JSONParser.parse(Data(schema.utf8)))
    }

    func run() throws -> [Result] {
        let clock = ContinuousClock()
        func ms(_ d: Duration) -> Double { Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1e3 }
        var results: [Result] = []
        for (name, schema) in Self.schemas {
            let constraint = try Self.constraint(schema)
            // A fresh compiler each time, so nothing is cached; the vocabulary trie is built outside the timing.
            var lazy: [Double] = [], eager: [Double] = []
            var grammar: CompiledGrammar?
            for _ in 0..<5 {
                let compiler = GrammarCompiler(vocabulary: vocabulary)
                var g: CompiledGrammar?
                lazy.append(ms(try clock.measure { g = try compiler.compile(constraint) }))
                let fresh = GrammarCompiler(vocabulary: vocabulary)
                let start = clock.now
                try fresh.compile(constraint).precomputeMasks()
                eager.append(ms(clock.now - start))
                grammar = g
            }
            guard let grammar else { continue }
            var generator = SystemRandomNumberGenerator()
            var times: [Double] = [], firstWalk: [Double] = [], full: [Double] = []
            var mask = [UInt32](repeating: 0, count: (vocabularySize + 31) / 32)
            for w in 0..<walks {
                var matcher = GrammarMatcher(grammar)
                var uncached = GrammarMatcher(grammar)
                uncached.reusesRepeatedMask = false
                for _ in 0..<stepsPerWalk {
                    if w > 0 {
                        full.append(ms(clock.measure { mask.withUnsafeMutableBufferPointer { uncached.fillNextTokenBitmask($0) } }) * 1000)
                    }
                    let t = ms(clock.measure { mask.withUnsafeMutableBufferPointer { matcher.fillNextTokenBitmask($0) } }) * 1000
                    if w == 0 { firstWalk.append(t) } else { times.append(t) }
                    let allowed = Self.allowed(mask).filter { !endOfGeneration.contains($0) }
                    guard let next = allowed.randomElement(using: &generator), matcher.accept(next), uncached.accept(next) else { break }
                }
            }
            times.sort()
            firstWalk.sort()
            full.sort()
            results.append(Result(
                name: name, compileMs: lazy.sorted()[2], compileWithMasksMs: eager.sorted()[2],
                nodes: grammar.statistics.nodes, maskMedianMicros: times[times.count / 2],
                maskP99Micros: times[min(times.count - 1, times.count * 99 / 100)],
                fullMedianMicros: full[full.count / 2], fullP99Micros: full[min(full.count - 1, full.count * 99 / 100)],
                firstWalkMedianMicros: firstWalk[firstWalk.count / 2], steps: times.count))
        }
        return results
    }

    var vocabularySize: Int
    var endOfGeneration: Set<Int32>

    static func allowed(_ mask: [UInt32]) -> [Int32] {
        var ids: [Int32] = []
        for (w, word) in mask.enumerated() where word != 0 {
            var bits = word
            while bits != 0 {
                ids.append(Int32(w * 32 + bits.trailingZeroBitCount))
                bits &= bits - 1
            }
        }
        return ids
    }

    static func report(_ results: [Result]) -> String {
        results.map { r in
            String(format: "%@: compile %.1f ms (%.1f ms with every node's token mask precomputed, %d nodes); mask median %.1f µs, p99 %.1f µs over %d warm steps (computed in full every step: median %.1f µs, p99 %.1f µs; first walk, cold cache: median %.1f µs)",
                   r.name, r.compileMs, r.compileWithMasksMs, r.nodes, r.maskMedianMicros, r.maskP99Micros, r.steps,
                   r.fullMedianMicros, r.fullP99Micros, r.firstWalkMedianMicros)
        }.joined(separator: "\n")
    }
}
