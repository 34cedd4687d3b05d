/// The decimal integers in a range (either end may be open), written canonically (no leading zeros, no `-0`), as a
/// grammar expression: the `minimum` / `maximum` / `exclusiveMinimum` / `exclusiveMaximum` of an integer schema.
enum IntegerRange {
    static func digit(_ low: Int, _ high: Int) -> GrammarExpression {
        .characters(CodepointClass([UInt32(48 + low)...UInt32(48 + high)]))
    }

    /// Integers n with low <= n <= high (nil: unbounded on that side); nil when the range is empty.
    static func expression(low: Int?, high: Int?) -> GrammarExpression? {
        if let low, let high, low > high { return nil }
        var alternatives: [GrammarExpression] = []
        // Non-negative part.
        if high.map({ $0 >= 0 }) ?? true {
            alternatives.append(contentsOf: nonNegative(from: max(low ?? 0, 0), to: high))
        }
        // Negative part: "-" and the magnitudes -high ... -low.
        if low.map({ $0 < 0 }) ?? true {
            let magnitudes = nonNegative(from: max(1, -(min(high ?? -1, -1))), to: low.map { -$0 })
            if !magnitudes.isEmpty { alternatives.append(.sequence([.literal("-"), .choice(magnitudes)])) }
        }
        return alternatives.count == 1 ? alternatives[0] : .choice(alternatives)
    }

    /// Canonical decimals of a...b (b nil: unbounded), a >= 0.
    private static func nonNegative(from a: Int, to b: Int?) -> [GrammarExpression] {
        if let b, a > b { return [] }
        let first = String(a).count
        var out: [GrammarExpression] = []
        var length = first
        while true {
            let lowest = length == 1 ? 0 : pow10(length - 1)
            let highest = pow10(length) - 1
            let x = max(a, lowest)
            if let b, x > b { break }
            let y = b.map { min($0, highest) } ?? highest
            out.append(sameLength(Array(String(x).utf8).map { Int($0) - 48 }, Array(String(y).utf8).map { Int($0) - 48 }))
            if let b, b <= highest { break }
            if b == nil {
                // Every longer number: a non-zero digit and at least `length` more digits.
                out.append(.sequence([digit(1, 9), .repeated(digit(0, 9), min: length, max: nil)]))
                break
            }
            length += 1
        }
        return out
    }

    /// Numbers between two digit strings of the same length.
    private static func sameLength(_ x: [Int], _ y: [Int]) -> GrammarExpression {
        if x.count == 1 { return digit(x[0], y[0]) }
        let restX = Array(x.dropFirst()), restY = Array(y.dropFirst())
        if x[0] == y[0] { return .sequence([digit(x[0], x[0]), sameLength(restX, restY)]) }
        let nines = [Int](repeating: 9, count: restX.count), zeros = [Int](repeating: 0, count: restX.count)
        var alternatives: [GrammarExpression] = [.sequence([digit(x[0], x[0]), sameLength(restX, nines)])]
        if x[0] + 1 <= y[0] - 1 {
            alternatives.append(.sequence([digit(x[0] + 1, y[0] - 1), .repeated(digit(0, 9), min: restX.count, max: restX.count)]))
        }
        alternatives.append(.sequence([digit(y[0], y[0]), sameLength(zeros, restY)]))
        return .choice(alternatives)
    }

    private static func pow10(_ n: Int) -> Int { (0..<n).reduce(1) { r, _ in r * 10 } }
}
