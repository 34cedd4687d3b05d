import VLLMGrammar

/// Masks each constrained request's row to the tokens its grammar allows next (vLLM applies the grammar bitmask to
/// the logits before sampling). Each request has its own matcher, advanced by the tokens it sampled since the last
/// step; rows of unconstrained requests are never touched, so their outputs do not depend on who shares the batch.
final class GrammarLogitsProcessor: LogitsProcessor {
    private struct State {
        var matcher: GrammarMatcher
        /// Output tokens the matcher has accepted.
        var consumed = 0
    }

    private var states: [Int: State] = [:]
    private var mask: [UInt32] = []

    /// Starts a request's matcher on its compiled grammar (at admission; the compile was checked then).
    func start(requestID: Int, grammar: CompiledGrammar) {
        states[requestID] = State(matcher: GrammarMatcher(grammar))
    }

    func applies(to parameters: SamplingParameters) -> Bool { parameters.structuredOutputs != nil }

    func apply(_ logits: UnsafeMutableBufferPointer<Float>, _ context: LogitsContext) {
        guard var state = states[context.requestID] else { return }
        states[context.requestID] = nil  // keep the matcher uniquely referenced while it advances
        for token in context.outputTokens.dropFirst(state.consumed) {
            // The token was sampled from this mask, so the grammar accepts it.
            _ = state.matcher.accept(token)
        }
        state.consumed = context.outputTokens.count
        let words = (logits.count + 31) / 32
        if mask.count != words { mask = [UInt32](repeating: 0, count: words) }
        mask.withUnsafeMutableBufferPointer { state.matcher.fillNextTokenBitmask($0) }
        mask.withUnsafeBufferPointer { bits in
            for w in 0..<words where bits[w] != ~0 {
                let base = w * 32
                if bits[w] == 0 && base + 32 <= logits.count {
                    for i in base..<(base + 32) { logits[i] = -.infinity }
                    continue
                }
                var disallowed = ~bits[w]
                while disallowed != 0 {
                    let i = base + disallowed.trailingZeroBitCount
                    if i < logits.count { logits[i] = -.infinity }
                    disallowed &= disallowed - 1
                }
            }
        }
        states[context.requestID] = state
    }

    func finished(requestID: Int) { states[requestID] = nil }
}
