import VLLMModelFormats

/// Refuses a model's hyper-parameters, by the file's own key name, when they would size an allocation past reason
/// (`head_dim: 2^40` aborted on allocating the RoPE table) or compute garbage without a word (a negative RMS
/// epsilon, a rope theta of 0, head counts that do not divide). Runs before anything is sized from them; the
/// tensors' shapes are checked against them when the weights are bound.
struct HyperParameterCheck {
    /// The file the values come from, for messages.
    let file: String

    /// Upper bounds well past every released model (Llama 3.1 405B: hidden 16384, intermediate 53248, 126 layers,
    /// 128 heads; Gemma: head_dim 256, vocabulary 262144; Llama 4: 10M positions).
    static let maxHidden = 1 << 17, maxIntermediate = 1 << 20, maxLayers = 1024, maxHeads = 1024, maxHeadDim = 1024
    static let maxVocabulary = 1 << 24, maxPositions = 1 << 28

    /// A count or size in 1...max.
    func size(_ key: String, _ value: Int, max: Int) throws(ModelFormatError) {
        guard value >= 1, value <= max else {
            throw ModelFormatError("'\(file)': \(key) is \(value); it must be between 1 and \(max)")
        }
    }

    /// `value` a multiple of `divisor` (both already checked positive).
    func multiple(_ key: String, _ value: Int, of divisorKey: String, _ divisor: Int) throws(ModelFormatError) {
        guard value % divisor == 0 else {
            throw ModelFormatError("'\(file)': \(key) (\(value)) is not a multiple of \(divisorKey) (\(divisor))")
        }
    }

    /// A head size RoPE can rotate: even, in 2...maxHeadDim.
    func headDim(_ key: String, _ value: Int) throws(ModelFormatError) {
        try size(key, value, max: Self.maxHeadDim)
        guard value % 2 == 0 else { throw ModelFormatError("'\(file)': \(key) is \(value); rotary embeddings need an even head size") }
    }

    /// A finite number above `minimum` (exclusive) and below `maximum` (exclusive) when given.
    func number(_ key: String, _ value: Double, above minimum: Double, below maximum: Double? = nil) throws(ModelFormatError) {
        guard value.isFinite, value > minimum, maximum.map({ value < $0 }) ?? true else {
            let range = maximum.map { "between \(minimum) and \($0)" } ?? "a finite number greater than \(minimum)"
            throw ModelFormatError("'\(file)': \(key) is \(value); it must be \(range)")
        }
    }

    /// The checks every format shares, on values already read (key names as the file spells them).
    func common(hidden: (String, Int), intermediate: (String, Int), layers: (String, Int), heads: (String, Int),
                kvHeads: (String, Int), vocabulary: (String, Int), maxPositions: (String, Int),
                rmsNormEps: (String, Double), ropeTheta: (String, Double)) throws(ModelFormatError) {
        try size(hidden.0, hidden.1, max: Self.maxHidden)
        try size(intermediate.0, intermediate.1, max: Self.maxIntermediate)
        try size(layers.0, layers.1, max: Self.maxLayers)
        try size(heads.0, heads.1, max: Self.maxHeads)
        try size(kvHeads.0, kvHeads.1, max: heads.1)
        try multiple(heads.0, heads.1, of: kvHeads.0, kvHeads.1)
        try size(vocabulary.0, vocabulary.1, max: Self.maxVocabulary)
        try size(maxPositions.0, maxPositions.1, max: Self.maxPositions)
        try number(rmsNormEps.0, rmsNormEps.1, above: 1e-12, below: 1)  // used in float32: 1e-300 would be 0
        try number(ropeTheta.0, ropeTheta.1, above: 1)
    }
}
