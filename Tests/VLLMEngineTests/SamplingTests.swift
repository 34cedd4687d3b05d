import Foundation
import Testing
import VLLMEngine
import VLLMKernels

func withRow<R>(_ values: [Float], _ body: (UnsafeMutableBufferPointer<Float>) -> R) -> R {
    var copy = values
    return copy.withUnsafeMutableBufferPointer { body($0) }
}

@Test func greedyTakesTheFirstMaximum() {
    let token = withRow([0.5, 2, 2, -1]) { Sampler.argmax(UnsafeBufferPointer($0)) }
    #expect(token == 1)
}

@Test func topKOneIsGreedyWhateverTheTemperature() {
    var generator = RandomGenerator(seed: 1)
    var p = SamplingParameters(temperature: 5, topK: 1)
    p.maxTokens = 1
    for _ in 0..<50 {
        #expect(withRow([0.1, 0.3, 3.0, 0.2]) { Sampler.sample(UnsafeBufferPointer($0), parameters: p, generator: &generator) } == 2)
    }
}

@Test func topPKeepsTheSmallestNucleus() {
    // Probabilities 0.5, 0.3, 0.2 (logits are their logs): top_p 0.6 keeps the first two tokens only.
    let logits: [Float] = [0.5, 0.3, 0.2].map { Float(Foundation.log($0)) }
    var generator = RandomGenerator(seed: 7)
    let p = SamplingParameters(temperature: 1, topP: 0.6)
    var seen = Set<Int32>()
    for _ in 0..<400 { seen.insert(withRow(logits) { Sampler.sample(UnsafeBufferPointer($0), parameters: p, generator: &generator) }) }
    #expect(seen == [0, 1])
}

@Test func minPDropsUnlikelyTokens() {
    let logits: [Float] = [0.6, 0.3, 0.1].map { Float(Foundation.log($0)) }
    var generator = RandomGenerator(seed: 3)
    var p = SamplingParameters(temperature: 1)
    p.minP = 0.4  // keeps tokens with p >= 0.4 * 0.6 = 0.24
    var seen = Set<Int32>()
    for _ in 0..<400 { seen.insert(withRow(logits) { Sampler.sample(UnsafeBufferPointer($0), parameters: p, generator: &generator) }) }
    #expect(seen == [0, 1])
}

/// Draw frequencies of `count` samples from `logits` under `parameters`.
func frequencies(_ logits: [Float], _ parameters: SamplingParameters, seed: UInt64, count: Int = 20_000) -> [Double] {
    var generator = RandomGenerator(seed: seed)
    var counts = [Int](repeating: 0, count: logits.count)
    for _ in 0..<count {
        counts[Int(withRow(logits) { Sampler.sample(UnsafeBufferPointer($0), parameters: parameters, generator: &generator) })] += 1
    }
    return counts.map { Double($0) / Double(count) }
}

func logs(_ probabilities: [Double]) -> [Float] { probabilities.map { Float(Foundation.log($0)) } }

@Test func topKRenormalisesOverTheKMostLikely() {
    // p = 0.1, 0.5, 0.15, 0.25; top_k 2 keeps tokens 1 and 3: 0.5 / 0.75 and 0.25 / 0.75.
    let f = frequencies(logs([0.1, 0.5, 0.15, 0.25]), SamplingParameters(temperature: 1, topK: 2), seed: 21)
    #expect(f[0] == 0 && f[2] == 0)
    #expect(abs(f[1] - 2.0 / 3) < 0.02 && abs(f[3] - 1.0 / 3) < 0.02)
}

@Test func topPRenormalisesOverTheNucleus() {
    // p = 0.5, 0.3, 0.2; top_p 0.6 needs the first two (0.5 < 0.6 <= 0.8): 0.5 / 0.8 and 0.3 / 0.8.
    let f = frequencies(logs([0.5, 0.3, 0.2]), SamplingParameters(temperature: 1, topP: 0.6), seed: 22)
    #expect(f[2] == 0)
    #expect(abs(f[0] - 0.625) < 0.02 && abs(f[1] - 0.375) < 0.02)
}

@Test func topPApplesToTheTopKDistribution() {
    // p = 0.4, 0.3, 0.2, 0.1. top_k 3 renormalises to 4/9, 3/9, 2/9; top_p 0.75 then keeps two (4/9 < 0.75 <= 7/9),
    // sampled as 4/7 and 3/7. Top-p alone would keep three (0.4 + 0.3 < 0.75).
    let f = frequencies(logs([0.4, 0.3, 0.2, 0.1]), SamplingParameters(temperature: 1, topP: 0.75, topK: 3), seed: 23)
    #expect(f[2] == 0 && f[3] == 0)
    #expect(abs(f[0] - 4.0 / 7) < 0.02)
}

@Test func temperatureComesBeforeMinP() {
    // p = 0.6, 0.3, 0.1 at temperature 2 becomes proportional to sqrt(p): 0.775, 0.548, 0.316. min_p 0.4 keeps
    // every token (0.316 / 0.775 = 0.41); applied before the temperature it would drop token 2 (0.1 / 0.6 = 0.17).
    var p = SamplingParameters(temperature: 2)
    p.minP = 0.4
    let f = frequencies(logs([0.6, 0.3, 0.1]), p, seed: 24)
    let weights = [0.6, 0.3, 0.1].map { $0.squareRoot() }
    let total = weights.reduce(0, +)
    for i in 0..<3 { #expect(abs(f[i] - weights[i] / total) < 0.02, "token \(i)") }
}

@Test func samplingFollowsTheDistribution() {
    let logits: [Float] = [0.7, 0.2, 0.1].map { Float(Foundation.log($0)) }
    var generator = RandomGenerator(seed: 11)
    let p = SamplingParameters(temperature: 1)
    var counts = [0, 0, 0]
    for _ in 0..<20_000 { counts[Int(withRow(logits) { Sampler.sample(UnsafeBufferPointer($0), parameters: p, generator: &generator) })] += 1 }
    #expect(abs(Double(counts[0]) / 20_000 - 0.7) < 0.02)
    #expect(abs(Double(counts[2]) / 20_000 - 0.1) < 0.015)
}

/// The sampler's draws (heap top-k, thresholded nucleus, chunked walk) against a full sort and a walk weight by weight,
/// on vocabulary-sized rows with a heavy tail: the same token for every seed and setting (top-p alone sums its total
/// in index order).
@Test(arguments: [(20, 1.0, 0.0), (1, 1.0, 0.0), (50, 0.9, 0.0), (0, 0.8, 0.0), (0, 0.95, 0.05), (1000, 1.0, 0.02),
                  (0, 0.999, 0.0), (40_000, 1.0, 0.0), (150_000, 0.7, 0.0), (3, 0.5, 0.3), (0, 1.0, 0.0), (0, 1.0, 0.01)])
func orderedDrawsMatchAFullSort(k: Int, topP: Double, minP: Double) {
    var noise = RandomGenerator(seed: 99)
    for round in 0..<12 {
        let n = 151_936
        let logits = (0..<n).map { i -> Float in
            let u = Float(noise.nextUnit())
            return i % 997 == 0 ? 8 + 4 * u : -Float(Foundation.log(max(u, 1e-12))) * (round % 2 == 0 ? 1.5 : 4)
        }
        var p = SamplingParameters(temperature: round % 3 == 0 ? 0.7 : 1.3, topP: topP, topK: k)
        p.minP = minP
        var g1 = RandomGenerator(seed: UInt64(round)), g2 = g1
        let fast = logits.withUnsafeBufferPointer { Sampler.sample($0, parameters: p, generator: &g1) }
        #expect(fast == fullSortDraw(logits, p, &g2), "round \(round)")
    }
}

/// The draw by a sort of every candidate and a walk weight by weight (the sampler before it was made fast).
func fullSortDraw(_ logits: [Float], _ p: SamplingParameters, _ generator: inout RandomGenerator) -> Int32 {
    let n = logits.count, maxLogit = logits.max()!
    var w = [Float](repeating: 0, count: n)
    var total = logits.withUnsafeBufferPointer { x in
        w.withUnsafeMutableBufferPointer { Kernels.expScaled(x.baseAddress!, into: $0.baseAddress!, count: n, shift: maxLogit, scale: Float(1 / p.temperature)) }
    }
    let minP = Float(p.minP)
    var c = (0..<n).filter { w[$0] > 0 && w[$0] >= minP }.map { (id: Int32($0), weight: Double(w[$0])) }
    if minP > 0 { total = c.reduce(0) { $0 + $1.weight } }
    let k = p.topK, ordered = (k > 0 && k < c.count) || p.topP < 1
    if ordered {
        c.sort { $0.weight > $1.weight || ($0.weight == $1.weight && $0.id < $1.id) }
        if k > 0, k < c.count { c.removeLast(c.count - k) }
        if p.topP < 1 {
            if k > 0, k < n { total = c.reduce(0) { $0 + $1.weight } }
            var cumulative = 0.0
            for (i, x) in c.enumerated() {
                cumulative += x.weight
                if cumulative >= p.topP * total { c.removeLast(c.count - i - 1); break }
            }
        }
    }
    var target = generator.nextUnit() * (!ordered && minP == 0 ? total : c.reduce(0) { $0 + $1.weight })
    for x in c {
        target -= x.weight
        if target < 0 { return x.id }
    }
    return c.last!.id
}

@Test func sameSeedSameDraws() {
    var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42), c = RandomGenerator(seed: 43)
    let x = (0..<8).map { _ in a.next() }
    #expect(x == (0..<8).map { _ in b.next() })
    #expect(x != (0..<8).map { _ in c.next() })
}

@Test func penaltiesAndBiasHaveKnownEffects() {
    var p = SamplingParameters()
    p.repetitionPenalty = 2
    p.frequencyPenalty = 0.5
    p.presencePenalty = 0.25
    p.logitBias = [3: 10]
    let out = withRow([4, -4, 1, 0, 8]) { row -> [Float] in
        LogitsProcessorChain.builtIn().apply(row, LogitsContext(parameters: p, promptTokens: [0], outputTokens: [1, 1, 4], endOfGeneration: []))
        return Array(row)
    }
    // token 0: prompt only → 4 / 2; token 1: -4 * 2 - (0.5 * 2 + 0.25); token 3: +10 bias;
    // token 4: 8 / 2 - (0.5 + 0.25); token 2 untouched.
    #expect(out == [2, -9.25, 1, 10, 3.25])
}

@Test func logitBiasIsClampedToPlusMinus100() {
    var p = SamplingParameters()
    p.logitBias = [0: 1000, 1: -250, 2: 0.5]
    let out = withRow([1, 2, 3]) { row -> [Float] in
        LogitsProcessorChain.builtIn().apply(row, LogitsContext(parameters: p, promptTokens: [], outputTokens: [], endOfGeneration: []))
        return Array(row)
    }
    #expect(out == [101, -98, 3.5])
}

@Test func repetitionPenaltyCoversThePromptButFrequencyAndPresenceDoNot() {
    var p = SamplingParameters()
    p.frequencyPenalty = 1
    p.presencePenalty = 0.5
    let frequencyOnly = withRow([3, 3, 3]) { row -> [Float] in
        // Token 0 only in the prompt, token 1 three times in the output, token 2 once.
        LogitsProcessorChain.builtIn().apply(row, LogitsContext(parameters: p, promptTokens: [0, 0], outputTokens: [1, 2, 1, 1], endOfGeneration: []))
        return Array(row)
    }
    // Token 0: untouched; token 1: 3 - 1 * 3 - 0.5; token 2: 3 - 1 * 1 - 0.5.
    let expected: [Float] = [3, -0.5, 1.5]
    #expect(frequencyOnly == expected)
    var r = SamplingParameters()
    r.repetitionPenalty = 1.5
    let repetition = withRow([3, -3, 3, 3]) { row -> [Float] in
        LogitsProcessorChain.builtIn().apply(row, LogitsContext(parameters: r, promptTokens: [0, 1, 0], outputTokens: [2, 2], endOfGeneration: []))
        return Array(row)
    }
    // Seen tokens (prompt or output) once each, however often: 3 / 1.5, -3 * 1.5, 3 / 1.5; token 3 unseen.
    #expect(repetition == [2, -4.5, 2, 3])
}

@Test func minTokensBlocksStopIDs() {
    var p = SamplingParameters()
    p.minTokens = 2
    let blocked = withRow([1, 5, 2]) { row -> [Float] in
        LogitsProcessorChain.builtIn().apply(row, LogitsContext(parameters: p, promptTokens: [], outputTokens: [7], endOfGeneration: [1]))
        return Array(row)
    }
    #expect(blocked[1] == -.infinity && blocked[0] == 1)
    let free = withRow([1, 5, 2]) { row -> [Float] in
        LogitsProcessorChain.builtIn().apply(row, LogitsContext(parameters: p, promptTokens: [], outputTokens: [7, 8], endOfGeneration: [1]))
        return Array(row)
    }
    #expect(free[1] == 5)
}

@Test func allowedTokenIDsMaskEverythingElse() {
    var p = SamplingParameters()
    p.allowedTokenIDs = [2]
    let out = withRow([9, 9, 1]) { row -> [Float] in
        LogitsProcessorChain.builtIn().apply(row, LogitsContext(parameters: p, promptTokens: [], outputTokens: [], endOfGeneration: []))
        return Array(row)
    }
    #expect(out == [-.infinity, -.infinity, 1])
}

@Test func logprobsAreALogSoftmax() {
    let lp = withRow([0, Float(Foundation.log(3.0))]) { TokenLogprobs(logits: UnsafeBufferPointer($0), chosen: 0, topCount: 2) }
    #expect(abs(lp.logprob - Float(Foundation.log(0.25))) < 1e-6)
    #expect(lp.rank == 2)
    #expect(lp.top.map(\.id) == [1, 0])
}

@Test func stopStringsSplitAcrossPiecesAreFoundAndCut() {
    var checker = StopChecker(stops: ["STOP"], includeStop: false)
    var emitted = ""
    for piece in ["Hello S", "T", "O", "P and more"] {
        let (emit, stopped) = checker.append(piece)
        emitted += emit
        if stopped { break }
    }
    #expect(emitted == "Hello ")
    var including = StopChecker(stops: ["\n\n", "END"], includeStop: true)
    #expect(including.append("abc E").emit == "abc")
    let last = including.append("ND tail")
    #expect(last.emit == " END" && last.stopped)
}

@Test func aFalseStartOfAStopStringIsReleased() {
    var checker = StopChecker(stops: ["STOP"], includeStop: false)
    var emitted = ""
    for piece in ["Hello S", "TO", "x more"] {
        let (emit, stopped) = checker.append(piece)
        #expect(!stopped)
        emitted += emit
    }
    #expect(emitted + checker.finish() == "Hello STOx more")
}

@Test func heldBackTextIsReleasedAtTheEnd() {
    var checker = StopChecker(stops: ["xyz"], includeStop: false)
    #expect(checker.append("abcxy").emit == "abc")
    #expect(checker.finish() == "xy")
}

@Test func parameterValidationNamesTheParameter() {
    var p = SamplingParameters()
    p.topP = 0
    #expect(throws: InvalidParameter.self) { try p.validate() }
    do { try p.validate() } catch { #expect(error.parameter == "top_p") }
    p = SamplingParameters()
    p.temperature = -1
    do { try p.validate() } catch { #expect(error.parameter == "temperature") }
    p = SamplingParameters()
    p.logprobs = 21
    do { try p.validate() } catch { #expect(error.parameter == "logprobs") }
}
