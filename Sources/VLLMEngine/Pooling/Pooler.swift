/// A pooling request's own options (vLLM's `PoolingParams`).
public struct PoolingParameters: Sendable, Equatable {
    /// Keep the first `dimensions` values (Matryoshka models only), then normalize again when the model normalizes.
    public var dimensions: Int?
    /// Overrides the model's `normalize` for this request.
    public var normalize: Bool?
    /// `truncate_prompt_tokens`: cut a longer input to this many tokens (-1: the model length), keeping its first
    /// tokens and its final special token, as a BERT tokenizer truncates; nil: a longer input is an error.
    public var truncatePromptTokens: Int?

    public init(dimensions: Int? = nil, normalize: Bool? = nil, truncatePromptTokens: Int? = nil) {
        self.dimensions = dimensions
        self.normalize = normalize
        self.truncatePromptTokens = truncatePromptTokens
    }
}

extension PoolerConfiguration {
    /// The token indices (into the forward batch) whose hidden states pool a sequence of `count` tokens at `start`.
    func rows(start: Int, count: Int) -> [Int] {
        switch poolingType {
        case .cls: [start]
        case .last: [start + count - 1]
        case .mean: Array(start..<(start + count))
        }
    }

    /// One vector from the hidden states of `rows(start:count:)`: `[count(rows), hidden]` at `states`. The mean
    /// is summed in double; normalization divides by the L2 norm (at least 1e-12, as torch's `F.normalize`).
    func pool(_ states: UnsafeBufferPointer<Float>, hidden: Int, parameters: PoolingParameters) -> [Float] {
        let rowCount = states.count / hidden
        var sum = [Double](repeating: 0, count: hidden)
        for r in 0..<rowCount {
            for i in 0..<hidden { sum[i] += Double(states[r * hidden + i]) }
        }
        var vector = sum.map { $0 / Double(rowCount) }
        if let d = parameters.dimensions, d < hidden { vector = Array(vector.prefix(d)) }
        if parameters.normalize ?? normalize {
            let norm = max(vector.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            vector = vector.map { $0 / norm }
        }
        return vector.map { Float($0) }
    }

    /// Checks a request's `dimensions` against what the model supports, with vLLM's messages.
    public func validate(_ parameters: PoolingParameters, hiddenSize: Int) throws(EngineError) {
        guard let d = parameters.dimensions else { return }
        guard let sizes = matryoshkaDimensions else {
            throw EngineError("Model does not support matryoshka representation, changing output dimensions will lead to poor results.")
        }
        guard d >= 1 else { throw EngineError("Dimensions must be greater than 0") }
        guard sizes.contains(d), d <= hiddenSize else {
            throw EngineError("Model only supports \(sizes.count > 16 ? "dimensions up to \(hiddenSize)" : "\(sizes)") for matryoshka representation, but got \(d)")
        }
    }
}
