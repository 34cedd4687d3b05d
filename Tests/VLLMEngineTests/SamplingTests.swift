import Testing
import VLLMEngine

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

@Test func samplingFollowsTheDistribution() {
    let logits: [Float] = [0.7, 0.2, 0.1].map { Float(Foundation.log($0)) }
    var generator = RandomGenerator(seed: 11)
    let p = SamplingParameters(temperature: 1)
    var counts = [0, 0, 0]
    for _ in 0..<20_000 { counts[Int(withRow(logits) { Sampler.sample(UnsafeBufferPointer($0), parameters: p, generator: &generator) })] += 1 }
    #expect(abs(Double(counts[0]) / 20_000 - 0.7) < 0.02)
    #expect(abs(Double(counts[2]) / 20_000 - 0.1) < 0.015)
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
        LogitsProcessor.apply(row, parameters: p, promptTokens: [0], outputTokens: [1, 1, 4], stopTokenIDs: [])
        return Array(row)
    }
    // token 0: prompt only → 4 / 2; token 1: -4 * 2 - (0.5 * 2 + 0.25); token 3: +10 bias;
    // token 4: 8 / 2 - (0.5 + 0.25); token 2 untouched.
    #expect(out == [2, -9.25, 1, 10, 3.25])
}

@Test func minTokensBlocksStopIDs() {
    var p = SamplingParameters()
    p.minTokens = 2
    let blocked = withRow([1, 5, 2]) { row -> [Float] in
        LogitsProcessor.apply(row, parameters: p, promptTokens: [], outputTokens: [7], stopTokenIDs: [1])
        return Array(row)
    }
    #expect(blocked[1] == -.infinity && blocked[0] == 1)
    let free = withRow([1, 5, 2]) { row -> [Float] in
        LogitsProcessor.apply(row, parameters: p, promptTokens: [], outputTokens: [7, 8], stopTokenIDs: [1])
        return Array(row)
    }
    #expect(free[1] == 5)
}

@Test func allowedTokenIDsMaskEverythingElse() {
    var p = SamplingParameters()
    p.allowedTokenIDs = [2]
    let out = withRow([9, 9, 1]) { row -> [Float] in
        LogitsProcessor.apply(row, parameters: p, promptTokens: [], outputTokens: [], stopTokenIDs: [])
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

import Foundation
